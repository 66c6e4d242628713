// Command _gen generates the AVX2+FMA assembly kernels of package kernels
// with avo. It is its own module so that the main module never depends on
// avo; run it with `go generate ./pkg/kernels/` (see gen.go there) or
//
//	cd pkg/kernels/_gen && go run . -out ../kernels_amd64.s -stubs ../kernels_stub_amd64.go -pkg kernels
//
// Every kernel ends with VZEROUPPER (legacy-SSE code runs right after it, and
// the AVX→SSE transition costs ~110 ns a time on the target machine) and each
// call does micro-tile or row-sized work, so a call never delays the GC for
// long (assembly is not asynchronously preemptible).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	genSgemm(2) // 6×16
	genSgemm(1) // 6×8
	genDepthwiseS1()
	genDepthwiseS2()
	Generate()
}

const mr = 6

// genSgemm emits sgemmKernel6xN with N = 8·nvec: a register-blocked
// 6×N tile of C computed from a packed A panel (k×6, row i of step kk at
// a[kk·6+i]) and a B panel whose row kk starts at b[kk·ldb]: ldb = 16 for a
// packed panel, the matrix row stride when B is read in place.
func genSgemm(nvec int) {
	name := fmt.Sprintf("sgemmKernel6x%d", 8*nvec)
	TEXT(name, NOSPLIT, "func(k int, a, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes one %d×%d tile of C from packed panels (k ≥ 1):", name, mr, 8*nvec),
		"",
		fmt.Sprintf("\tfor i < %d, j < %d:", mr, 8*nvec),
		"\t\ts := bias[i]",
		"\t\tfor kk < k: s += a[kk*6+i] * b[kk*ldb+j]  // FMA, vectorised over j",
		"\t\tif flags&1 != 0 { s += c[i*ldc+j] }         // accumulate into C",
		"\t\tif flags&2 != 0 && s < 0 { s = 0 }          // fused ReLU",
		"\t\tc[i*ldc+j] = s",
		"",
		"ldb and ldc are in elements. gemmKernelGeneric is this loop in Go.",
	)
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)

	// Prefetch the C tile while the products are computed.
	{
		r := GP64()
		MOVQ(c, r)
		for i := 0; i < mr; i++ {
			PREFETCHT0(Mem{Base: r})
			if nvec == 2 {
				PREFETCHT0(Mem{Base: r, Disp: 60})
			}
			if i < mr-1 {
				ADDQ(ldc, r)
			}
		}
	}

	acc := make([][]reg.VecVirtual, mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, nvec)
		for v := range acc[i] {
			acc[i][v] = YMM()
			VXORPS(acc[i][v], acc[i][v], acc[i][v])
		}
	}
	bv := make([]reg.VecVirtual, nvec)
	for v := range bv {
		bv[v] = YMM()
	}
	t := YMM()

	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	ldb3 := GP64()
	LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)
	pf := GP64()
	rowOf := func(u int) Mem {
		switch u {
		case 0:
			return Mem{Base: b}
		case 1:
			return Mem{Base: b, Index: ldb, Scale: 1}
		case 2:
			return Mem{Base: b, Index: ldb, Scale: 2}
		}
		return Mem{Base: b, Index: ldb3, Scale: 1}
	}
	step := func(u int) {
		row := rowOf(u)
		for v := 0; v < nvec; v++ {
			m := row
			m.Disp += 32 * v
			VMOVUPS(m, bv[v])
		}
		for i := 0; i < mr; i++ {
			VBROADCASTSS(Mem{Base: a, Disp: (u*mr + i) * 4}, t)
			for v := 0; v < nvec; v++ {
				VFMADD231PS(bv[v], t, acc[i][v])
			}
		}
	}

	const unroll = 4
	CMPQ(k, U8(unroll))
	JL(LabelRef(name + "_tail"))
	Label(name + "_loop4")
	// Prefetch B rows 8..11 ahead of this step and A 16 steps ahead.
	LEAQ(Mem{Base: b, Index: ldb, Scale: 8}, pf)
	PREFETCHT0(Mem{Base: pf})
	PREFETCHT0(Mem{Base: pf, Index: ldb, Scale: 1})
	for u := 0; u < unroll; u++ {
		if u == 2 {
			PREFETCHT0(Mem{Base: a, Disp: 384})
			PREFETCHT0(Mem{Base: pf, Index: ldb, Scale: 2})
			PREFETCHT0(Mem{Base: pf, Index: ldb3, Scale: 1})
		}
		step(u)
	}
	ADDQ(U32(unroll*mr*4), a)
	LEAQ(Mem{Base: b, Index: ldb, Scale: 4}, b)
	SUBQ(U8(unroll), k)
	CMPQ(k, U8(unroll))
	JGE(LabelRef(name + "_loop4"))

	Label(name + "_tail")
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	Label(name + "_loop1")
	step(0)
	ADDQ(U32(mr*4), a)
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop1"))

	Label(name + "_store")
	bias := Load(Param("bias"), GP64())
	for i := 0; i < mr; i++ {
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, t)
		for v := 0; v < nvec; v++ {
			VADDPS(t, acc[i][v], acc[i][v])
		}
	}
	flags := Load(Param("flags"), GP64())
	r := GP64()
	TESTQ(U32(1), flags)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(c, r)
	for i := 0; i < mr; i++ {
		for v := 0; v < nvec; v++ {
			VADDPS(Mem{Base: r, Disp: 32 * v}, acc[i][v], acc[i][v])
		}
		if i < mr-1 {
			ADDQ(ldc, r)
		}
	}
	Label(name + "_noacc")
	TESTQ(U32(2), flags)
	JZ(LabelRef(name + "_norelu"))
	VXORPS(t, t, t)
	for i := 0; i < mr; i++ {
		for v := 0; v < nvec; v++ {
			// max(0, s) keeping NaN and −0 as the Go loop does: the
			// second source (acc) is returned on NaN and on equality.
			VMAXPS(acc[i][v], t, acc[i][v])
		}
	}
	Label(name + "_norelu")
	for i := 0; i < mr; i++ {
		for v := 0; v < nvec; v++ {
			VMOVUPS(acc[i][v], Mem{Base: c, Disp: 32 * v})
		}
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// dwBorder computes one scalar border output of a 3×3 depthwise row:
// s = bias + Σ_ky Σ_{kx in taps} w[ky*3+kx]·row_ky[idx+kx−first].
func dwBorder(rows [3]reg.Register, w []reg.VecVirtual, bias reg.Register, out Mem, idx reg.Register, kxs []int, relu reg.Register, label string) {
	s := XMM()
	u := XMM()
	VMOVSS(Mem{Base: bias}, s)
	for ky := 0; ky < 3; ky++ {
		for n, kx := range kxs {
			VFMADD231SS(Mem{Base: rows[ky], Index: idx, Scale: 4, Disp: 4 * n}, w[ky*3+kx].AsX(), s)
		}
	}
	TESTQ(relu, relu)
	JZ(LabelRef(label))
	VXORPS(u, u, u)
	VMAXSS(s, u, s)
	Label(label)
	VMOVSS(s, out)
}

func loadDwWeights() []reg.VecVirtual {
	wp := Load(Param("w"), GP64())
	w := make([]reg.VecVirtual, 9)
	for i := range w {
		w[i] = YMM()
		VBROADCASTSS(Mem{Base: wp, Disp: 4 * i}, w[i])
	}
	return w
}

func loadRows() [3]reg.Register {
	return [3]reg.Register{Load(Param("r0"), GP64()), Load(Param("r1"), GP64()), Load(Param("r2"), GP64())}
}

// dwFinish adds the two accumulators, applies the ReLU and stores 8 outputs.
func dwFinish(acc0, acc1 reg.VecVirtual, relu reg.Register, dst Mem, label string, permute bool) {
	VADDPS(acc1, acc0, acc0)
	if permute {
		VPERMPD(U8(0xD8), acc0, acc0)
	}
	TESTQ(relu, relu)
	JZ(LabelRef(label))
	VXORPS(acc1, acc1, acc1)
	VMAXPS(acc0, acc1, acc0)
	Label(label)
	VMOVUPS(acc0, dst)
}

// genDepthwiseS1 emits the stride-1 row kernel (pad 1, width ≥ 10).
func genDepthwiseS1() {
	name := "dwConv3x3s1Row"
	TEXT(name, NOSPLIT, "func(out, r0, r1, r2, w *float32, width int, bias *float32, relu int)")
	Pragma("noescape")
	Doc(
		name+" computes one output row of a 3×3 depthwise convolution with",
		"stride 1 and padding 1 from the three input rows r0, r1, r2 (each width",
		"floats; a row outside the image is passed as zeros), width ≥ 10:",
		"",
		"\tfor x < width:",
		"\t\ts := *bias",
		"\t\tfor ky, kx < 3: if 0 ≤ x+kx−1 < width { s += w[ky*3+kx] * r_ky[x+kx−1] }",
		"\t\tif relu != 0 && s < 0 { s = 0 }",
		"\t\tout[x] = s",
		"",
		"The interior is done 8 outputs at a time, the last vector overlapping the",
		"previous one; the two border outputs use scalar FMAs.",
	)
	rows := loadRows()
	w := loadDwWeights()
	out := Load(Param("out"), GP64())
	width := Load(Param("width"), GP64())
	bias := Load(Param("bias"), GP64())
	relu := Load(Param("relu"), GP64())

	// Left border x = 0: taps kx = 1, 2 read r[0], r[1].
	zero := GP64()
	XORQ(zero, zero)
	dwBorder(rows, w, bias, Mem{Base: out}, zero, []int{1, 2}, relu, name+"_l")
	// Right border x = width−1: taps kx = 0, 1 read r[width−2], r[width−1].
	idx := GP64()
	LEAQ(Mem{Base: width, Disp: -2}, idx)
	dwBorder(rows, w, bias, Mem{Base: out, Index: idx, Scale: 4, Disp: 4}, idx, []int{0, 1}, relu, name+"_r")

	// Interior: x from 1 to width−9 in steps of 8, the last clamped to width−9.
	last := GP64()
	LEAQ(Mem{Base: width, Disp: -9}, last)
	x := GP64()
	MOVQ(U64(1), x)
	acc0, acc1 := YMM(), YMM()
	Label(name + "_loop")
	CMPQ(x, last)
	CMOVQGT(last, x)
	VBROADCASTSS(Mem{Base: bias}, acc0)
	VMULPS(Mem{Base: rows[0], Index: x, Scale: 4, Disp: 0}, w[1], acc1)
	n := 0
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			if ky == 0 && kx == 1 {
				continue
			}
			a := acc0
			if n%2 == 1 {
				a = acc1
			}
			n++
			VFMADD231PS(Mem{Base: rows[ky], Index: x, Scale: 4, Disp: 4 * (kx - 1)}, w[ky*3+kx], a)
		}
	}
	dwFinish(acc0, acc1, relu, Mem{Base: out, Index: x, Scale: 4}, name+"_st", false)
	CMPQ(x, last)
	JGE(LabelRef(name + "_done"))
	ADDQ(U8(8), x)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genDepthwiseS2 emits the stride-2 row kernel (pad 1, input width ≥ 18).
func genDepthwiseS2() {
	name := "dwConv3x3s2Row"
	TEXT(name, NOSPLIT, "func(out, r0, r1, r2, w *float32, inW, outW int, bias *float32, relu int)")
	Pragma("noescape")
	Doc(
		name+" computes one output row of a 3×3 depthwise convolution with",
		"stride 2 and padding 1 from the three input rows r0, r1, r2 (each inW",
		"floats; a row outside the image is passed as zeros), inW ≥ 18 and",
		"outW = (inW−1)/2 + 1:",
		"",
		"\tfor x < outW:",
		"\t\ts := *bias",
		"\t\tfor ky, kx < 3: if 0 ≤ 2x+kx−1 < inW { s += w[ky*3+kx] * r_ky[2x+kx−1] }",
		"\t\tif relu != 0 && s < 0 { s = 0 }",
		"\t\tout[x] = s",
		"",
		"Interior outputs are done 8 at a time: two 16-float loads per row at",
		"2x−1 and 2x are split into even and odd lanes with VSHUFPS, which leaves",
		"the lanes in the order 0,1,4,5,2,3,6,7; one VPERMPD restores it before",
		"the store. Loads never go past r_ky[inW−1].",
	)
	rows := loadRows()
	w := loadDwWeights()
	out := Load(Param("out"), GP64())
	inW := Load(Param("inW"), GP64())
	outW := Load(Param("outW"), GP64())
	bias := Load(Param("bias"), GP64())
	relu := Load(Param("relu"), GP64())

	zero := GP64()
	XORQ(zero, zero)
	dwBorder(rows, w, bias, Mem{Base: out}, zero, []int{1, 2}, relu, name+"_l")
	// Right border when inW is odd: x = outW−1 reads r[inW−2], r[inW−1]
	// with taps kx = 0, 1.
	TESTQ(U32(1), inW)
	JZ(LabelRef(name + "_even"))
	{
		idx := GP64()
		LEAQ(Mem{Base: inW, Disp: -2}, idx)
		ob := GP64()
		LEAQ(Mem{Base: out, Index: outW, Scale: 4, Disp: -4}, ob)
		dwBorder(rows, w, bias, Mem{Base: ob}, idx, []int{0, 1}, relu, name+"_r")
	}
	Label(name + "_even")
	// Interior x in [1, xe], xe = (inW−2)/2; last vector starts at xe−7.
	last := GP64()
	LEAQ(Mem{Base: inW, Disp: -2}, last)
	SHRQ(U8(1), last)
	SUBQ(U8(7), last)
	x := GP64()
	MOVQ(U64(1), x)
	acc0, acc1 := YMM(), YMM()
	t0, t1, t2 := YMM(), YMM(), YMM()
	off := GP64()
	Label(name + "_loop")
	CMPQ(x, last)
	CMOVQGT(last, x)
	// off = (2x−1)·4 bytes
	LEAQ(Mem{Base: x, Index: x, Scale: 1, Disp: -1}, off)
	VBROADCASTSS(Mem{Base: bias}, acc0)
	VXORPS(acc1, acc1, acc1)
	for ky := 0; ky < 3; ky++ {
		r := rows[ky]
		// even lanes of r[2x−1 …]: tap kx = 0
		VMOVUPS(Mem{Base: r, Index: off, Scale: 4}, t0)
		VSHUFPS(U8(0x88), Mem{Base: r, Index: off, Scale: 4, Disp: 32}, t0, t0)
		VFMADD231PS(t0, w[ky*3], acc0)
		// r[2x …]: even lanes are tap kx = 1, odd lanes tap kx = 2
		VMOVUPS(Mem{Base: r, Index: off, Scale: 4, Disp: 4}, t1)
		VSHUFPS(U8(0x88), Mem{Base: r, Index: off, Scale: 4, Disp: 36}, t1, t2)
		VSHUFPS(U8(0xDD), Mem{Base: r, Index: off, Scale: 4, Disp: 36}, t1, t1)
		VFMADD231PS(t2, w[ky*3+1], acc1)
		VFMADD231PS(t1, w[ky*3+2], acc0)
	}
	dwFinish(acc0, acc1, relu, Mem{Base: out, Index: x, Scale: 4}, name+"_st", true)
	CMPQ(x, last)
	JGE(LabelRef(name + "_done"))
	ADDQ(U8(8), x)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
