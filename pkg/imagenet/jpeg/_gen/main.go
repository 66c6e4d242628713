// Command _gen generates the AVX2 assembly kernels of package jpeg with
// avo. It is its own module so that the main module never depends on avo;
// run it with `go generate ./pkg/imagenet/jpeg/` (see gen.go there) or
//
//	cd pkg/imagenet/jpeg/_gen && go run . -out ../simd_amd64.s -stubs ../simd_stub_amd64.go -pkg jpeg
//
// Every kernel computes exactly what its Go twin computes (the decoder's
// output must stay libjpeg-turbo's, byte for byte), ends with VZEROUPPER
// and does block- or row-sized work per call.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	genIDCT()
	genYCC()
	genGray()
	genH2V1()
	genH2V2()
	Generate()
}

// splat defines a read-only 32-byte constant holding v in all eight
// 32-bit lanes.
func splat(name string, v int32) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(uint32(v)))
	}
	return m
}

// splat16 defines a read-only 32-byte constant holding v in all sixteen
// 16-bit lanes.
func splat16(name string, v int16) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(2*i, U16(uint16(v)))
	}
	return m
}

// idctBound is the bound on the dequantized coefficients within which
// the 32-bit lanes of idctAVX2 are exact; it must equal idctBound of
// idct.go, where it is derived (and TestIDCTBound re-derives it).
const idctBound = 35081

// fix defines a splat of one of jidctint.c's FIX() constants (13
// fractional bits).
func fix(name string, v int32) Mem {
	return splat(fmt.Sprintf("idctFix%s", name), v)
}

type idctConsts struct {
	c0541, c0765, cm1847, c1175, c0298, c2053, c3072, c1501 Mem
	cm0899, cm2562, cm1961, cm0390                          Mem
	rnd1, rnd2, bound, add128                               Mem
}

func genIDCT() {
	k := idctConsts{
		c0541:  fix("0_541196100", 4433),
		c0765:  fix("0_765366865", 6270),
		cm1847: fix("M1_847759065", -15137),
		c1175:  fix("1_175875602", 9633),
		c0298:  fix("0_298631336", 2446),
		c2053:  fix("2_053119869", 16819),
		c3072:  fix("3_072711026", 25172),
		c1501:  fix("1_501321110", 12299),
		cm0899: fix("M0_899976223", -7373),
		cm2562: fix("M2_562915447", -20995),
		cm1961: fix("M1_961570560", -16069),
		cm0390: fix("M0_390180644", -3196),
		rnd1:   splat("idctRound1", 1<<10),
		rnd2:   splat("idctRound2", 1<<17),
		bound:  splat("idctBound", idctBound),
		add128: splat16("idctAdd128", 128),
	}
	transpose := GLOBL("idctByteTranspose", RODATA|NOPTR)
	for lane := 0; lane < 2; lane++ {
		for i := 0; i < 16; i++ {
			DATA(16*lane+i, U8((i%4)*4+i/4))
		}
	}

	TEXT("idctAVX2", NOSPLIT, "func(blk *[64]int16, q *[64]int32, out *byte, stride int) bool")
	Pragma("noescape")
	Doc(
		"idctAVX2 is idct (both passes of jidctint's ISLOW IDCT) in 32-bit lanes:",
		"pass 1 with the eight columns in the lanes of eight row vectors, an 8×8",
		"transpose, pass 2 with the eight rows in the lanes, and the 10-bit",
		"masking, +128 and clamping of rangeLimit done with shifts and saturating",
		"packs. Pass 1 is exact only while its sums fit in int32, so it first",
		"checks |blk[i]*q[i]| ≤ idctBound for all i; if that fails it returns",
		"false without writing anything and the caller runs the Go idct.",
		"Otherwise it writes the 8×8 samples at out, rows stride bytes apart, and",
		"returns true (pass 2 keeps only bits 18..27 of its sums, which wrapping",
		"arithmetic gets right whatever their size).",
	)
	blk := Load(Param("blk"), GP64())
	q := Load(Param("q"), GP64())

	// Dequantize: row r of coefficients, columns in lanes.
	var v [8]reg.VecVirtual
	for r := range v {
		v[r] = YMM()
		VPMOVSXWD(Mem{Base: blk, Disp: 16 * r}, v[r])
		VPMULLD(Mem{Base: q, Disp: 32 * r}, v[r], v[r])
	}
	checkBound(v, k.bound)

	w := idct1D(v, k, k.rnd1)
	for i := range w {
		VPSRAD(U8(11), w[i], w[i])
	}

	c := transpose8x8(w)
	o := idct1D(c, k, k.rnd2)
	// o[j] holds output column j, rows in lanes. (x<<4)>>22 is bits 18..27
	// of x (the descale by 18 bits and the 0x3FF mask) read as a signed
	// 10-bit number.
	for i := range o {
		VPSLLD(U8(4), o[i], o[i])
		VPSRAD(U8(22), o[i], o[i])
	}
	// Pack to words: p[i] = columns 2i, 2i+1 (rows 0-3 | rows 4-7), +128,
	// then to bytes with unsigned saturation (the clamp to 0..255).
	var p [4]reg.VecVirtual
	for i := range p {
		p[i] = YMM()
		VPACKSSDW(o[2*i+1], o[2*i], p[i])
		VPADDW(k.add128, p[i], p[i])
	}
	lo, hi := YMM(), YMM()
	VPACKUSWB(p[1], p[0], lo)  // per lane: dword j = column j (j<4), 4 rows
	VPACKUSWB(p[3], p[2], hi)  // columns 4..7
	VPSHUFB(transpose, lo, lo) // per lane: dword r = row r, columns 0..3
	VPSHUFB(transpose, hi, hi) // row r, columns 4..7
	r01, r23 := YMM(), YMM()
	VPUNPCKLDQ(hi, lo, r01) // rows 0, 1 | rows 4, 5
	VPUNPCKHDQ(hi, lo, r23) // rows 2, 3 | rows 6, 7

	out := Load(Param("out"), GP64())
	stride := Load(Param("stride"), GP64())
	s3 := GP64()
	LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, s3)
	store := func(x reg.VecVirtual, row0 Mem, row1 Mem) {
		VMOVQ(x.AsX(), row0)
		VMOVHPS(x.AsX(), row1)
	}
	store(r01, Mem{Base: out}, Mem{Base: out, Index: stride, Scale: 1})
	store(r23, Mem{Base: out, Index: stride, Scale: 2}, Mem{Base: out, Index: s3, Scale: 1})
	LEAQ(Mem{Base: out, Index: stride, Scale: 4}, out)
	VEXTRACTI128(U8(1), r01, r01.AsX())
	VEXTRACTI128(U8(1), r23, r23.AsX())
	store(r01, Mem{Base: out}, Mem{Base: out, Index: stride, Scale: 1})
	store(r23, Mem{Base: out, Index: stride, Scale: 2}, Mem{Base: out, Index: s3, Scale: 1})
	VZEROUPPER()
	ok := GP8()
	MOVB(U8(1), ok)
	Store(ok, ReturnIndex(0))
	RET()

	Label("idct_fallback")
	VZEROUPPER()
	no := GP8()
	XORB(no, no)
	Store(no, ReturnIndex(0))
	RET()
}

// checkBound jumps to idct_fallback unless every lane of every x has
// |value| ≤ bound. The absolute values are compared unsigned, so that
// VPABSD's fixed point -2³¹ counts as out of bounds.
func checkBound(x [8]reg.VecVirtual, bound Mem) {
	acc, t := YMM(), YMM()
	VPABSD(x[0], acc)
	for i := 1; i < len(x); i++ {
		VPABSD(x[i], t)
		VPMAXUD(t, acc, acc)
	}
	VPMAXUD(bound, acc, acc)
	VPCMPEQD(bound, acc, acc)
	m := GP32()
	VPMOVMSKB(acc, m)
	CMPL(m, I32(-1))
	JNE(LabelRef("idct_fallback"))
}

// idct1D emits jidctint's 1-D transform of in[0..7] (one transform per
// lane) and returns the eight results before the descaling shift, rnd
// added. Only wrapping adds, subtracts and multiplies are used, so each
// result is exact modulo 2³² whatever the intermediates do, and exact
// outright when the true value fits in int32.
func idct1D(in [8]reg.VecVirtual, k idctConsts, rnd Mem) [8]reg.VecVirtual {
	// Even part.
	z1, tmp2, tmp3 := YMM(), YMM(), YMM()
	VPADDD(in[6], in[2], z1)
	VPMULLD(k.c0541, z1, z1)
	VPMULLD(k.cm1847, in[6], tmp2)
	VPADDD(z1, tmp2, tmp2)
	VPMULLD(k.c0765, in[2], tmp3)
	VPADDD(z1, tmp3, tmp3)
	tmp0, tmp1 := YMM(), YMM()
	VPADDD(in[4], in[0], tmp0)
	VPSUBD(in[4], in[0], tmp1)
	VPSLLD(U8(13), tmp0, tmp0)
	VPSLLD(U8(13), tmp1, tmp1)
	VPADDD(rnd, tmp0, tmp0)
	VPADDD(rnd, tmp1, tmp1)
	tmp10, tmp11, tmp12, tmp13 := YMM(), YMM(), YMM(), YMM()
	VPADDD(tmp3, tmp0, tmp10)
	VPSUBD(tmp3, tmp0, tmp13)
	VPADDD(tmp2, tmp1, tmp11)
	VPSUBD(tmp2, tmp1, tmp12)

	// Odd part.
	t0, t1, t2, t3 := in[7], in[5], in[3], in[1]
	z1, z2, z3, z4, z5 := YMM(), YMM(), YMM(), YMM(), YMM()
	VPADDD(t3, t0, z1)
	VPADDD(t2, t1, z2)
	VPADDD(t2, t0, z3)
	VPADDD(t3, t1, z4)
	VPADDD(z4, z3, z5)
	VPMULLD(k.c1175, z5, z5)
	VPMULLD(k.c0298, t0, t0)
	VPMULLD(k.c2053, t1, t1)
	VPMULLD(k.c3072, t2, t2)
	VPMULLD(k.c1501, t3, t3)
	VPMULLD(k.cm0899, z1, z1)
	VPMULLD(k.cm2562, z2, z2)
	VPMULLD(k.cm1961, z3, z3)
	VPMULLD(k.cm0390, z4, z4)
	VPADDD(z5, z3, z3)
	VPADDD(z5, z4, z4)
	VPADDD(z1, t0, t0)
	VPADDD(z3, t0, t0)
	VPADDD(z2, t1, t1)
	VPADDD(z4, t1, t1)
	VPADDD(z2, t2, t2)
	VPADDD(z3, t2, t2)
	VPADDD(z1, t3, t3)
	VPADDD(z4, t3, t3)

	var o [8]reg.VecVirtual
	for i := range o {
		o[i] = YMM()
	}
	VPADDD(t3, tmp10, o[0])
	VPSUBD(t3, tmp10, o[7])
	VPADDD(t2, tmp11, o[1])
	VPSUBD(t2, tmp11, o[6])
	VPADDD(t1, tmp12, o[2])
	VPSUBD(t1, tmp12, o[5])
	VPADDD(t0, tmp13, o[3])
	VPSUBD(t0, tmp13, o[4])
	return o
}

// transpose8x8 returns the columns of the 8×8 matrix of 32-bit values
// whose rows are r.
func transpose8x8(r [8]reg.VecVirtual) [8]reg.VecVirtual {
	var t, u, c [8]reg.VecVirtual
	for i := 0; i < 8; i++ {
		t[i], u[i], c[i] = YMM(), YMM(), YMM()
	}
	for i := 0; i < 8; i += 2 {
		VPUNPCKLDQ(r[i+1], r[i], t[i])   // r[i][0] r[i+1][0] r[i][1] r[i+1][1] | lanes 4,5
		VPUNPCKHDQ(r[i+1], r[i], t[i+1]) // elements 2,3 | 6,7
	}
	for i := 0; i < 8; i += 4 {
		VPUNPCKLQDQ(t[i+2], t[i], u[i])     // column 0 rows i..i+3 | column 4
		VPUNPCKHQDQ(t[i+2], t[i], u[i+1])   // column 1 | column 5
		VPUNPCKLQDQ(t[i+3], t[i+1], u[i+2]) // column 2 | column 6
		VPUNPCKHQDQ(t[i+3], t[i+1], u[i+3]) // column 3 | column 7
	}
	for j := 0; j < 4; j++ {
		VPERM2I128(U8(0x20), u[4+j], u[j], c[j])
		VPERM2I128(U8(0x31), u[4+j], u[j], c[4+j])
	}
	return c
}
