// Command _gen generates the AVX2+FMA and AVX-512 assembly kernels of package kernels
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
	genDepthwiseS1Plane()
	genDepthwiseS1PlaneZ()
	genDepthwiseS2PlaneZ()
	genIm2colS2Z()
	genElementwise()
	genBatchNorm()
	genDepthwiseS1WeightGrad()
	genPrefetchRows()
	genSgemmCol4()
	genSgemmZ(3, 1) // 18×16
	genSgemmZ(2, 1) // 12×16
	genSgemmZ(1, 1) // 6×16
	genSgemmZ(2, 2) // 12×32
	genSgemmZ(1, 2) // 6×32
	genSgemmZCol(8, 1)
	genSgemmZCol(8, 2)
	genGatherEven()
	genBlocked()
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

	acc, bv := tileRegisters(mr, nvec, YMM, VXORPS)
	t := YMM()

	ldb, ldb3, rowOf := bRows(b)
	pf := GP64()
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
	tileEpilogue(name, acc, c, ldc, t)
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

// genElementwise emits the vector bodies of ReLU, ReLUBackward and Add:
// n must be a positive multiple of 8; the Go callers do the tail.
func genElementwise() {
	// reluVec: out[i] = x[i] < 0 ? 0 : x[i], keeping NaN and −0 as the Go
	// loop does (VMAXPS returns its second source, x, on NaN and equality).
	TEXT("reluVec", NOSPLIT, "func(out, x *float32, n int)")
	Pragma("noescape")
	Doc("reluVec writes max(0, x[i]) for i < n (n a positive multiple of 8), keeping NaN and −0.")
	{
		out := Load(Param("out"), GP64())
		x := Load(Param("x"), GP64())
		n := Load(Param("n"), GP64())
		z := YMM()
		VXORPS(z, z, z)
		i := GP64()
		XORQ(i, i)
		v := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
		end4 := GP64()
		MOVQ(n, end4)
		ANDQ(I32(-32), end4)
		Label("relu_loop4")
		CMPQ(i, end4)
		JGE(LabelRef("relu_tail"))
		for u := 0; u < 4; u++ {
			VMAXPS(Mem{Base: x, Index: i, Scale: 4, Disp: 32 * u}, z, v[u])
		}
		for u := 0; u < 4; u++ {
			VMOVUPS(v[u], Mem{Base: out, Index: i, Scale: 4, Disp: 32 * u})
		}
		ADDQ(U8(32), i)
		JMP(LabelRef("relu_loop4"))
		Label("relu_tail")
		CMPQ(i, n)
		JGE(LabelRef("relu_done"))
		VMAXPS(Mem{Base: x, Index: i, Scale: 4}, z, v[0])
		VMOVUPS(v[0], Mem{Base: out, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		JMP(LabelRef("relu_tail"))
		Label("relu_done")
		VZEROUPPER()
		RET()
	}

	// Two-operand bodies: 16 floats a step while they fit, then one
	// 8-float step; nothing is read past n.
	binary := func(name, doc string, body func(dst reg.VecVirtual, p0, p1 reg.Register, i reg.Register, disp int)) {
		TEXT(name, NOSPLIT, "func(out, p0, p1 *float32, n int)")
		Pragma("noescape")
		Doc(doc)
		out := Load(Param("out"), GP64())
		p0 := Load(Param("p0"), GP64())
		p1 := Load(Param("p1"), GP64())
		n := Load(Param("n"), GP64())
		i := GP64()
		XORQ(i, i)
		end2 := GP64()
		MOVQ(n, end2)
		ANDQ(I32(-16), end2)
		v := []reg.VecVirtual{YMM(), YMM()}
		Label(name + "_loop2")
		CMPQ(i, end2)
		JGE(LabelRef(name + "_tail"))
		for u := 0; u < 2; u++ {
			body(v[u], p0, p1, i, 32*u)
		}
		for u := 0; u < 2; u++ {
			VMOVUPS(v[u], Mem{Base: out, Index: i, Scale: 4, Disp: 32 * u})
		}
		ADDQ(U8(16), i)
		JMP(LabelRef(name + "_loop2"))
		Label(name + "_tail")
		CMPQ(i, n)
		JGE(LabelRef(name + "_done"))
		body(v[0], p0, p1, i, 0)
		VMOVUPS(v[0], Mem{Base: out, Index: i, Scale: 4})
		Label(name + "_done")
		VZEROUPPER()
		RET()
	}
	binary("reluBackwardVec", "reluBackwardVec writes out[i] = p1[i] > 0 ? p0[i] : 0 (p0 = dy, p1 = y) for i < n (n a positive multiple of 8).",
		func(dst reg.VecVirtual, p0, p1, i reg.Register, disp int) {
			z := YMM()
			VXORPS(z, z, z)
			VMOVUPS(Mem{Base: p1, Index: i, Scale: 4, Disp: disp}, dst)
			// dst = (y > 0) mask: predicate GT_OQ (0x1E), Go order imm, src2, src1, dst
			VCMPPS(U8(0x1E), z, dst, dst)
			VANDPS(Mem{Base: p0, Index: i, Scale: 4, Disp: disp}, dst, dst)
		})
	binary("addVec", "addVec writes out[i] = p0[i] + p1[i] for i < n (n a positive multiple of 8).",
		func(dst reg.VecVirtual, p0, p1, i reg.Register, disp int) {
			VMOVUPS(Mem{Base: p0, Index: i, Scale: 4, Disp: disp}, dst)
			VADDPS(Mem{Base: p1, Index: i, Scale: 4, Disp: disp}, dst, dst)
		})
}

// genDepthwiseS1Plane emits the whole-plane stride-1 kernel (pad 1,
// W ≥ 9): every output, borders included, is computed 8 at a time; the
// first and last vector of a row build their out-of-row neighbour from the
// loaded centre with one VPERMPS and one VBLENDPS against zero.
func genDepthwiseS1Plane() {
	name := "dwConv3x3s1Plane"
	TEXT(name, NOSPLIT, "func(out, in, w *float32, H, W int, bias *float32, relu int, zero *float32)")
	Pragma("noescape")
	Doc(
		name+" computes one H×W output plane of a 3×3 depthwise convolution",
		"with stride 1 and padding 1 from the H×W input plane in (W ≥ 9); zero",
		"points to at least W zeros, read in place of the rows above and below:",
		"",
		"\tfor y < H, x < W:",
		"\t\ts := *bias",
		"\t\tfor ky, kx < 3: if 0 ≤ y+ky−1 < H && 0 ≤ x+kx−1 < W { s += w[ky*3+kx] * in[(y+ky−1)*W + x+kx−1] }",
		"\t\tif relu != 0 && s < 0 { s = 0 }",
		"\t\tout[y*W+x] = s",
		"",
		"Within a row the middle vectors may overlap the last one; the sum of a",
		"vector is (bias + taps of kernel column 0 and 2) + (taps of column 1),",
		"two chains, as dwConv3x3s1Row does.",
	)
	shr := GLOBL("dwShiftRight", RODATA|NOPTR)
	for i, v := range []uint32{0, 0, 1, 2, 3, 4, 5, 6} {
		DATA(4*i, U32(v))
	}
	shl := GLOBL("dwShiftLeft", RODATA|NOPTR)
	for i, v := range []uint32{1, 2, 3, 4, 5, 6, 7, 7} {
		DATA(4*i, U32(v))
	}
	w := loadDwWeights()
	out := Load(Param("out"), GP64())
	in := Load(Param("in"), GP64())
	H := Load(Param("H"), GP64())
	W := Load(Param("W"), GP64())
	bias := Load(Param("bias"), GP64())
	relu := Load(Param("relu"), GP64())
	zero := Load(Param("zero"), GP64())
	rowBytes := GP64()
	MOVQ(W, rowBytes)
	SHLQ(U8(2), rowBytes)
	z := YMM()
	VXORPS(z, z, z)
	r0, r1, r2 := GP64(), GP64(), GP64()
	y := GP64()
	XORQ(y, y)
	MOVQ(in, r1)
	lastY := GP64()
	LEAQ(Mem{Base: H, Disp: -1}, lastY)
	x := GP64()
	acc0, acc1, c, t, idx := YMM(), YMM(), YMM(), YMM(), YMM()
	rows := []reg.Register{r0, r1, r2}

	// block emits the 8 outputs at column x (register) of the current row.
	block := func(leftSpecial, rightSpecial bool, label string) {
		VBROADCASTSS(Mem{Base: bias}, acc0)
		VXORPS(acc1, acc1, acc1)
		for ky := 0; ky < 3; ky++ {
			r := rows[ky]
			VMOVUPS(Mem{Base: r, Index: x, Scale: 4}, c)
			VFMADD231PS(c, w[ky*3+1], acc1)
			if leftSpecial {
				VMOVUPS(shr, idx)
				VPERMPS(c, idx, t)
				VBLENDPS(U8(0x01), z, t, t)
				VFMADD231PS(t, w[ky*3], acc0)
			} else {
				VFMADD231PS(Mem{Base: r, Index: x, Scale: 4, Disp: -4}, w[ky*3], acc0)
			}
			if rightSpecial {
				VMOVUPS(shl, idx)
				VPERMPS(c, idx, t)
				VBLENDPS(U8(0x80), z, t, t)
				VFMADD231PS(t, w[ky*3+2], acc0)
			} else {
				VFMADD231PS(Mem{Base: r, Index: x, Scale: 4, Disp: 4}, w[ky*3+2], acc0)
			}
		}
		VADDPS(acc1, acc0, acc0)
		TESTQ(relu, relu)
		JZ(LabelRef(label))
		VMAXPS(acc0, z, acc0)
		Label(label)
		VMOVUPS(acc0, Mem{Base: out, Index: x, Scale: 4})
	}

	Label(name + "_row")
	// r0 = y > 0 ? r1 − W : zero; r2 = y < H−1 ? r1 + W : zero
	MOVQ(zero, r0)
	MOVQ(zero, r2)
	tmp := GP64()
	MOVQ(r1, tmp)
	SUBQ(rowBytes, tmp)
	TESTQ(y, y)
	CMOVQNE(tmp, r0)
	LEAQ(Mem{Base: r1, Index: rowBytes, Scale: 1}, tmp)
	CMPQ(y, lastY)
	CMOVQLT(tmp, r2)

	XORQ(x, x)
	block(true, false, name+"_b0")
	// middle vectors [8, W−8), the last clamped to start at W−16
	lim := GP64()
	LEAQ(Mem{Base: W, Disp: -16}, lim)
	MOVQ(U64(8), x)
	Label(name + "_mid")
	LEAQ(Mem{Base: x, Disp: 8}, tmp)
	CMPQ(tmp, W)
	JGE(LabelRef(name + "_last")) // x ≥ W−8: no middle vector left
	CMPQ(x, lim)
	CMOVQGT(lim, x)
	block(false, false, name+"_bm")
	ADDQ(U8(8), x)
	JMP(LabelRef(name + "_mid"))
	Label(name + "_last")
	LEAQ(Mem{Base: W, Disp: -8}, x)
	block(false, true, name+"_bl")

	ADDQ(rowBytes, out)
	ADDQ(rowBytes, r1)
	INCQ(y)
	CMPQ(y, H)
	JL(LabelRef(name + "_row"))
	VZEROUPPER()
	RET()
}

// genBatchNorm emits the vector bodies of the train-mode BatchNorm loops
// (n a positive multiple of 8; the Go callers do the tails). The float32
// arithmetic is the Go loops' operation for operation (no FMA), so outputs
// are bit-identical; the float64 sums are kept in 4-lane partial sums.
func genBatchNorm() {
	// bnSumVec returns Σ x[i] and Σ (x[i]−mean)² in float64.
	TEXT("bnSumsVec", NOSPLIT, "func(x *float32, n int, mean float64, sq int) float64")
	Pragma("noescape")
	Doc("bnSumsVec returns Σ float64(x[i]) (sq = 0) or Σ (float64(x[i])−mean)² (sq ≠ 0) for i < n (n a positive multiple of 8).")
	{
		x := Load(Param("x"), GP64())
		n := Load(Param("n"), GP64())
		sq := Load(Param("sq"), GP64())
		m := YMM()
		VBROADCASTSD(NewParamAddr("mean", 16), m)
		a0, a1, t0, t1 := YMM(), YMM(), YMM(), YMM()
		VXORPD(a0, a0, a0)
		VXORPD(a1, a1, a1)
		i := GP64()
		XORQ(i, i)
		TESTQ(sq, sq)
		JNZ(LabelRef("bnsums_sq"))
		Label("bnsums_loop")
		VCVTPS2PD(Mem{Base: x, Index: i, Scale: 4}, t0)
		VCVTPS2PD(Mem{Base: x, Index: i, Scale: 4, Disp: 16}, t1)
		VADDPD(t0, a0, a0)
		VADDPD(t1, a1, a1)
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnsums_loop"))
		JMP(LabelRef("bnsums_done"))
		Label("bnsums_sq")
		VCVTPS2PD(Mem{Base: x, Index: i, Scale: 4}, t0)
		VCVTPS2PD(Mem{Base: x, Index: i, Scale: 4, Disp: 16}, t1)
		VSUBPD(m, t0, t0)
		VSUBPD(m, t1, t1)
		VFMADD231PD(t0, t0, a0)
		VFMADD231PD(t1, t1, a1)
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnsums_sq"))
		Label("bnsums_done")
		VADDPD(a1, a0, a0)
		hsumPD(a0)
		Store(a0.AsX(), ReturnIndex(0))
		VZEROUPPER()
		RET()
	}

	TEXT("bnBackwardSumsVec", NOSPLIT, "func(ds, xs *float32, n int, mean, invstd float32) (float64, float64)")
	Pragma("noescape")
	Doc("bnBackwardSumsVec returns Σ g and Σ g·float64((x−mean)·invstd) (g = float64(ds[i]), x̂ in float32) for i < n (n a positive multiple of 8).")
	{
		ds := Load(Param("ds"), GP64())
		xs := Load(Param("xs"), GP64())
		n := Load(Param("n"), GP64())
		mean, inv := YMM(), YMM()
		VBROADCASTSS(NewParamAddr("mean", 24), mean)
		VBROADCASTSS(NewParamAddr("invstd", 28), inv)
		a0, a1, b0, b1 := YMM(), YMM(), YMM(), YMM()
		for _, r := range []reg.VecVirtual{a0, a1, b0, b1} {
			VXORPD(r, r, r)
		}
		xh, g0, g1, h0 := YMM(), YMM(), YMM(), YMM()
		i := GP64()
		XORQ(i, i)
		Label("bnbs_loop")
		VMOVUPS(Mem{Base: xs, Index: i, Scale: 4}, xh)
		VSUBPS(mean, xh, xh)
		VMULPS(inv, xh, xh)
		VCVTPS2PD(Mem{Base: ds, Index: i, Scale: 4}, g0)
		VCVTPS2PD(Mem{Base: ds, Index: i, Scale: 4, Disp: 16}, g1)
		VADDPD(g0, a0, a0)
		VADDPD(g1, a1, a1)
		VCVTPS2PD(xh.AsX(), h0)
		VFMADD231PD(h0, g0, b0)
		VEXTRACTF128(U8(1), xh, xh.AsX())
		VCVTPS2PD(xh.AsX(), h0)
		VFMADD231PD(h0, g1, b1)
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnbs_loop"))
		VADDPD(a1, a0, a0)
		VADDPD(b1, b0, b0)
		hsumPD(a0)
		hsumPD(b0)
		Store(a0.AsX(), ReturnIndex(0))
		Store(b0.AsX(), ReturnIndex(1))
		VZEROUPPER()
		RET()
	}

	TEXT("bnTrainOutVec", NOSPLIT, "func(dst, src *float32, n int, mean, invstd, w, b float32, accumulate int)")
	Pragma("noescape")
	Doc("bnTrainOutVec writes (or adds, accumulate ≠ 0) ((src[i]−mean)·invstd)·w + b into dst for i < n (n a positive multiple of 8).")
	{
		dst := Load(Param("dst"), GP64())
		src := Load(Param("src"), GP64())
		n := Load(Param("n"), GP64())
		acc := Load(Param("accumulate"), GP64())
		mean, inv, wv, bv := YMM(), YMM(), YMM(), YMM()
		VBROADCASTSS(NewParamAddr("mean", 24), mean)
		VBROADCASTSS(NewParamAddr("invstd", 28), inv)
		VBROADCASTSS(NewParamAddr("w", 32), wv)
		VBROADCASTSS(NewParamAddr("b", 36), bv)
		v := YMM()
		i := GP64()
		XORQ(i, i)
		TESTQ(acc, acc)
		JNZ(LabelRef("bnout_acc"))
		Label("bnout_loop")
		VMOVUPS(Mem{Base: src, Index: i, Scale: 4}, v)
		VSUBPS(mean, v, v)
		VMULPS(inv, v, v)
		VMULPS(wv, v, v)
		VADDPS(bv, v, v)
		VMOVUPS(v, Mem{Base: dst, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnout_loop"))
		VZEROUPPER()
		RET()
		Label("bnout_acc")
		VMOVUPS(Mem{Base: src, Index: i, Scale: 4}, v)
		VSUBPS(mean, v, v)
		VMULPS(inv, v, v)
		VMULPS(wv, v, v)
		VADDPS(bv, v, v)
		VADDPS(Mem{Base: dst, Index: i, Scale: 4}, v, v)
		VMOVUPS(v, Mem{Base: dst, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnout_acc"))
		VZEROUPPER()
		RET()
	}

	TEXT("bnBackwardDxVec", NOSPLIT, "func(dd, ds, xs *float32, n int, mean, invstd, k, mb, mw float32)")
	Pragma("noescape")
	Doc("bnBackwardDxVec adds k·((ds[i]−mb) − ((xs[i]−mean)·invstd)·mw) into dd[i] for i < n (n a positive multiple of 8).")
	{
		dd := Load(Param("dd"), GP64())
		ds := Load(Param("ds"), GP64())
		xs := Load(Param("xs"), GP64())
		n := Load(Param("n"), GP64())
		mean, inv, kv, mb, mw := YMM(), YMM(), YMM(), YMM(), YMM()
		VBROADCASTSS(NewParamAddr("mean", 32), mean)
		VBROADCASTSS(NewParamAddr("invstd", 36), inv)
		VBROADCASTSS(NewParamAddr("k", 40), kv)
		VBROADCASTSS(NewParamAddr("mb", 44), mb)
		VBROADCASTSS(NewParamAddr("mw", 48), mw)
		xh, u := YMM(), YMM()
		i := GP64()
		XORQ(i, i)
		Label("bndx_loop")
		VMOVUPS(Mem{Base: xs, Index: i, Scale: 4}, xh)
		VSUBPS(mean, xh, xh)
		VMULPS(inv, xh, xh)
		VMULPS(mw, xh, xh)
		VMOVUPS(Mem{Base: ds, Index: i, Scale: 4}, u)
		VSUBPS(mb, u, u)
		VSUBPS(xh, u, u)
		VMULPS(u, kv, u)
		VADDPS(Mem{Base: dd, Index: i, Scale: 4}, u, u)
		VMOVUPS(u, Mem{Base: dd, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bndx_loop"))
		VZEROUPPER()
		RET()
	}
}

// hsumPD leaves the sum of the four float64 lanes of v in its lowest lane.
func hsumPD(v reg.VecVirtual) {
	t := YMM()
	VEXTRACTF128(U8(1), v, t.AsX())
	VADDPD(t.AsX(), v.AsX(), v.AsX())
	VPERMILPD(U8(1), v.AsX(), t.AsX())
	VADDSD(t.AsX(), v.AsX(), v.AsX())
}

// genDepthwiseS1WeightGrad emits the whole-plane weight gradient of a 3×3
// depthwise conv with stride 1 and padding 1 (W ≥ 8): nine vector
// accumulators, one per tap, over non-overlapping 8-column blocks; a
// ragged last block is the block ending at W−1 with the lanes already
// counted masked out of dOut.
func genDepthwiseS1WeightGrad() {
	name := "dwGradW3x3s1Plane"
	TEXT(name, NOSPLIT, "func(acc, in, dout *float32, H, W int, zero *float32)")
	Pragma("noescape")
	Doc(
		name+" adds one plane's 3×3 depthwise weight gradient (stride 1,",
		"padding 1, W ≥ 8) into acc[0..8]; zero points to at least W zeros:",
		"",
		"\tfor ky, kx < 3: acc[ky*3+kx] += Σ_{y,x} dout[y*W+x] · in[(y+ky−1)*W + x+kx−1] (inside the plane)",
		"",
		"Each tap is summed in float32 in 8 lanes, then the lanes are added.",
	)
	mask := GLOBL("dwLaneMask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i >= 8 {
			v = 0xFFFFFFFF
		}
		DATA(4*i, U32(v))
	}
	shr := NewDataAddr(Symbol{Name: "dwShiftRight", Static: true}, 0)
	shl := NewDataAddr(Symbol{Name: "dwShiftLeft", Static: true}, 0)
	accp := Load(Param("acc"), GP64())
	in := Load(Param("in"), GP64())
	dout := Load(Param("dout"), GP64())
	H := Load(Param("H"), GP64())
	W := Load(Param("W"), GP64())
	zero := Load(Param("zero"), GP64())
	rowBytes := GP64()
	MOVQ(W, rowBytes)
	SHLQ(U8(2), rowBytes)
	a := make([]reg.VecVirtual, 9)
	for i := range a {
		a[i] = YMM()
		VXORPS(a[i], a[i], a[i])
	}
	z, d, c, t := YMM(), YMM(), YMM(), YMM()
	VXORPS(z, z, z)
	r0, r1, r2 := GP64(), GP64(), GP64()
	rows := []reg.Register{r0, r1, r2}
	y, x, tmp, lastY, fullEnd := GP64(), GP64(), GP64(), GP64(), GP64()
	XORQ(y, y)
	MOVQ(in, r1)
	LEAQ(Mem{Base: H, Disp: -1}, lastY)
	MOVQ(W, fullEnd)
	ANDQ(I32(-8), fullEnd)

	idx := YMM()
	dp := GP64()
	MOVQ(dout, dp)
	// block: dOut vector in d, at column x; out-of-row neighbours built
	// as in the forward plane kernel.
	block := func(leftSpecial, rightSpecial bool) {
		for ky := 0; ky < 3; ky++ {
			r := rows[ky]
			VMOVUPS(Mem{Base: r, Index: x, Scale: 4}, c)
			VFMADD231PS(c, d, a[ky*3+1])
			if leftSpecial {
				VMOVUPS(shr, idx)
				VPERMPS(c, idx, t)
				VBLENDPS(U8(0x01), z, t, t)
				VFMADD231PS(t, d, a[ky*3])
			} else {
				VFMADD231PS(Mem{Base: r, Index: x, Scale: 4, Disp: -4}, d, a[ky*3])
			}
			if rightSpecial {
				VMOVUPS(shl, idx)
				VPERMPS(c, idx, t)
				VBLENDPS(U8(0x80), z, t, t)
				VFMADD231PS(t, d, a[ky*3+2])
			} else {
				VFMADD231PS(Mem{Base: r, Index: x, Scale: 4, Disp: 4}, d, a[ky*3+2])
			}
		}
	}

	Label(name + "_row")
	MOVQ(zero, r0)
	MOVQ(zero, r2)
	MOVQ(r1, tmp)
	SUBQ(rowBytes, tmp)
	TESTQ(y, y)
	CMOVQNE(tmp, r0)
	LEAQ(Mem{Base: r1, Index: rowBytes, Scale: 1}, tmp)
	CMPQ(y, lastY)
	CMOVQLT(tmp, r2)
	XORQ(x, x)
	VMOVUPS(Mem{Base: dp}, d)
	CMPQ(W, U8(8))
	JNE(LabelRef(name + "_wide"))
	block(true, true)
	JMP(LabelRef(name + "_next"))
	Label(name + "_wide")
	block(true, false)
	MOVQ(U64(8), x)
	Label(name + "_mid")
	LEAQ(Mem{Base: x, Disp: 8}, tmp)
	CMPQ(tmp, W)
	JGE(LabelRef(name + "_last"))
	VMOVUPS(Mem{Base: dp, Index: x, Scale: 4}, d)
	block(false, false)
	ADDQ(U8(8), x)
	JMP(LabelRef(name + "_mid"))
	Label(name + "_last")
	// overlap = x − (W−8) lanes already counted: mask them out of d
	LEAQ(Mem{Base: W, Disp: -8}, tmp)
	SUBQ(tmp, x) // x = overlap
	mp := GP64()
	LEAQ(mask, mp)
	NEGQ(x)
	LEAQ(Mem{Base: mp, Index: x, Scale: 4, Disp: 32}, mp)
	MOVQ(tmp, x)
	VMOVUPS(Mem{Base: dp, Index: x, Scale: 4}, d)
	VANDPS(Mem{Base: mp}, d, d)
	block(false, true)
	Label(name + "_next")
	ADDQ(rowBytes, dp)
	ADDQ(rowBytes, r1)
	INCQ(y)
	CMPQ(y, H)
	JL(LabelRef(name + "_row"))

	for i := 0; i < 9; i++ {
		v := a[i]
		VEXTRACTF128(U8(1), v, t.AsX())
		VADDPS(t.AsX(), v.AsX(), v.AsX())
		VMOVHLPS(v.AsX(), v.AsX(), t.AsX())
		VADDPS(t.AsX(), v.AsX(), v.AsX())
		VMOVSHDUP(v.AsX(), t.AsX())
		VADDSS(t.AsX(), v.AsX(), v.AsX())
		VADDSS(Mem{Base: accp, Disp: 4 * i}, v.AsX(), v.AsX())
		VMOVSS(v.AsX(), Mem{Base: accp, Disp: 4 * i})
	}
	VZEROUPPER()
	RET()
}

// genPrefetchRows emits prefetchRows: PREFETCHT1 (into L2) of the 64 bytes
// at each of n rows ld elements apart (both cache lines when a row
// straddles two). The GEMM driver issues it for the next B micro-panel
// read in place, so the panel's rows arrive from L3 or memory while the
// current one is multiplied; the kernel's own prefetch, a few rows ahead,
// then only has L2 latency to hide.
func genPrefetchRows() {
	TEXT("prefetchRows", NOSPLIT, "func(p *float32, ld int, n int)")
	Pragma("noescape")
	Doc("prefetchRows prefetches p[i*ld : i*ld+16] into L2 for i < n (n ≥ 1; ld in elements).")
	p := Load(Param("p"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	n := Load(Param("n"), GP64())
	Label("pfrows_loop")
	PREFETCHT1(Mem{Base: p})
	PREFETCHT1(Mem{Base: p, Disp: 60})
	ADDQ(ld, p)
	DECQ(n)
	JNZ(LabelRef("pfrows_loop"))
	RET()
}

// genSgemmCol4 emits sgemmKernel24x1: one column of four 6-row A panels,
// for the 1–3 column tails of a GEMM (a 7×7 plane has 49 columns; a batch-1
// classifier head has one). The 6×8 kernel spends a whole FMA latency chain
// per k step on such a tail; here four panels share the broadcast B value,
// so four chains run at once. Each row is still one FMA chain in k order,
// as in the 6×16 and 6×8 kernels, so a column gives bit for bit the same
// sums whichever kernel computes it. A step's six A values are loaded as
// four plus two floats, never reading past the panel.
func genSgemmCol4() {
	TEXT("sgemmKernel24x1", NOSPLIT, "func(k int, a *float32, lda int, b *float32, ldb int, out *float32)")
	Pragma("noescape")
	Doc(
		"sgemmKernel24x1 writes out[p*8+i] = Σ_{kk<k} a[p*lda+kk*6+i]·b[kk*ldb] for p < 4,",
		"i < 6, each sum one FMA chain in kk order from zero, and zeros to out[p*8+6:p*8+8]",
		"(k ≥ 1; lda, ldb in elements).",
	)
	k := Load(Param("k"), GP64())
	a0 := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	pa := []reg.Register{a0, GP64(), GP64(), GP64()}
	for p := 1; p < 4; p++ {
		LEAQ(Mem{Base: pa[p-1], Index: lda, Scale: 1}, pa[p])
	}
	acc := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for _, v := range acc {
		VXORPS(v, v, v)
	}
	bv := YMM()
	lo := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	hi := []reg.VecVirtual{XMM(), XMM(), XMM(), XMM()}
	Label("col4_loop")
	VBROADCASTSS(Mem{Base: b}, bv)
	for p := 0; p < 4; p++ {
		VMOVUPS(Mem{Base: pa[p]}, lo[p].AsX())
		VMOVSD(Mem{Base: pa[p], Disp: 16}, hi[p])
		VINSERTF128(U8(1), hi[p], lo[p], lo[p])
		VFMADD231PS(lo[p], bv, acc[p])
		ADDQ(U8(24), pa[p])
	}
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef("col4_loop"))
	out := Load(Param("out"), GP64())
	for p := 0; p < 4; p++ {
		VMOVUPS(acc[p], Mem{Base: out, Disp: 32 * p})
	}
	VZEROUPPER()
	RET()
}

// bRows loads the ldb parameter (in bytes from then on) and returns it, 3·ldb
// and the address of B row u (0 ≤ u < 4) of the current k step.
func bRows(b reg.Register) (ldb, ldb3 reg.Register, rowOf func(u int) Mem) {
	ldb = Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	ldb3 = GP64()
	LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)
	return ldb, ldb3, func(u int) Mem {
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
}

// tileEpilogue ends an AVX2 tile kernel whose accumulators acc[i][v] (YMM)
// hold the product sums plus the bias: adds C when flags&1, clamps at 0
// when flags&2, stores the tile at c (rows ldc bytes apart) and returns. t
// is a free vector register. (The AVX-512 tiles store through row and
// column masks instead, in genSgemmZ.)
func tileEpilogue(name string, acc [][]reg.VecVirtual, c, ldc reg.Register, t reg.VecVirtual) {
	const vbytes = 32
	flags := Load(Param("flags"), GP64())
	r := GP64()
	TESTQ(U32(1), flags)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(c, r)
	for i := range acc {
		for v := range acc[i] {
			VADDPS(Mem{Base: r, Disp: vbytes * v}, acc[i][v], acc[i][v])
		}
		if i < len(acc)-1 {
			ADDQ(ldc, r)
		}
	}
	Label(name + "_noacc")
	TESTQ(U32(2), flags)
	JZ(LabelRef(name + "_norelu"))
	VXORPS(t, t, t)
	for i := range acc {
		for v := range acc[i] {
			// max(0, s) keeping NaN and −0 as the Go loop does: the
			// second source (acc) is returned on NaN and on equality.
			VMAXPS(acc[i][v], t, acc[i][v])
		}
	}
	Label(name + "_norelu")
	for i := range acc {
		for v := range acc[i] {
			VMOVUPS(acc[i][v], Mem{Base: c, Disp: vbytes * v})
		}
		if i < len(acc)-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// tileRegisters allocates the registers of a register-blocked kernel:
// rows×cols accumulators acc[i][j], each zeroed with zero (VXORPS, or
// VPXORD for EVEX-only code) as it is allocated, and then cols registers
// for the B values of a step.
func tileRegisters(rows, cols int, alloc func() reg.VecVirtual, zero func(...Op)) (acc [][]reg.VecVirtual, bv []reg.VecVirtual) {
	acc = make([][]reg.VecVirtual, rows)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, cols)
		for j := range acc[i] {
			acc[i][j] = alloc()
			zero(acc[i][j], acc[i][j], acc[i][j])
		}
	}
	bv = make([]reg.VecVirtual, cols)
	for j := range bv {
		bv[j] = alloc()
	}
	return acc, bv
}

// panelPointers loads the a parameter and, for np > 1, lda (in elements):
// the addresses of np packed A panels lda elements apart.
func panelPointers(np int) []reg.Register {
	pa := []reg.Register{Load(Param("a"), GP64())}
	if np > 1 {
		lda := Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		for p := 1; p < np; p++ {
			r := GP64()
			LEAQ(Mem{Base: pa[p-1], Index: lda, Scale: 1}, r)
			pa = append(pa, r)
		}
	}
	return pa
}

// genSgemmZ emits sgemmKernelZ{6·np}x{16·nv}, the AVX-512 tile kernel: np
// packed 6-row A panels (lda elements apart) times a B panel of nv ZMM
// vectors per row, 6·np·nv accumulators out of the 32 ZMM registers. Each
// output is one FMA chain in k order from zero, then + bias, + C, ReLU: the
// sums of sgemmKernel6x16 and sgemmKernel6x8 bit for bit.
func genSgemmZ(np, nv int) {
	rows, cols := mr*np, 16*nv
	name := fmt.Sprintf("sgemmKernelZ%dx%d", rows, cols)
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int, m int, cols uint16)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes one %d×%d tile of C from %d packed 6-row A panels (k ≥ 1):", name, rows, cols, np),
		"",
		fmt.Sprintf("\tfor i < %d, j < %d:", rows, cols),
		"\t\td := 0",
		"\t\tfor kk < k: d += a[(i/6)*lda+kk*6+i%6] * b[kk*ldb+j]  // FMA, vectorised over j",
		"\t\tif i >= m || cols&(1<<j) == 0 { continue }  // C and bias are not touched there",
		"\t\ts := bias[i] + d",
		"\t\tif flags&1 != 0 { s += c[i*ldc+j] }",
		"\t\tif flags&2 != 0 && s < 0 { s = 0 }",
		"\t\tc[i*ldc+j] = s",
		"",
		"lda, ldb and ldc are in elements, m ≥ 1; it needs AVX-512F.",
	)
	k := Load(Param("k"), GP64())
	pa := panelPointers(np)
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	{
		r := GP64()
		MOVQ(c, r)
		for i := 0; i < rows; i++ {
			// a row of the tile may straddle one more cache line
			for v := 0; v < nv; v++ {
				PREFETCHT0(Mem{Base: r, Disp: 64 * v})
			}
			PREFETCHT0(Mem{Base: r, Disp: 64*nv - 4})
			if i < rows-1 {
				ADDQ(ldc, r)
			}
		}
	}
	acc, bv := tileRegisters(rows, nv, ZMM, VPXORD)
	var av []reg.VecVirtual
	if nv > 1 {
		av = []reg.VecVirtual{ZMM(), ZMM()}
	}
	ldb, _, rowOf := bRows(b)
	pf := GP64()
	step := func(u int) {
		row := rowOf(u)
		for v := 0; v < nv; v++ {
			m := row
			m.Disp += 64 * v
			VMOVUPS(m, bv[v])
		}
		for i := 0; i < rows; i++ {
			m := Mem{Base: pa[i/mr], Disp: (u*mr + i%mr) * 4}
			if nv == 1 {
				VFMADD231PS_BCST(m, bv[0], acc[i][0])
				continue
			}
			// a wider tile loads each A element once into a register
			t := av[i%len(av)]
			VBROADCASTSS(m, t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(t, bv[v], acc[i][v])
			}
		}
	}
	const unroll = 4
	CMPQ(k, U8(unroll))
	JL(LabelRef(name + "_tail"))
	Label(name + "_loop4")
	LEAQ(Mem{Base: b, Index: ldb, Scale: 8}, pf)
	for u := 0; u < unroll; u++ {
		m := rowOf(u)
		m.Base = pf
		for v := 0; v < nv; v++ {
			mm := m
			mm.Disp += 64 * v
			PREFETCHT0(mm)
		}
		if u == 2 {
			for p := range pa {
				PREFETCHT0(Mem{Base: pa[p], Disp: 384})
			}
		}
		step(u)
	}
	for p := range pa {
		ADDQ(U32(unroll*mr*4), pa[p])
	}
	LEAQ(Mem{Base: b, Index: ldb, Scale: 4}, b)
	SUBQ(U8(unroll), k)
	CMPQ(k, U8(unroll))
	JGE(LabelRef(name + "_loop4"))

	Label(name + "_tail")
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	Label(name + "_loop1")
	step(0)
	for p := range pa {
		ADDQ(U32(mr*4), pa[p])
	}
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop1"))

	Label(name + "_store")
	// Row by row, the first m rows only (the last A panel of a matrix
	// whose row count is not a multiple of 6 is zero-padded; its pad rows
	// are computed but neither read from nor written to C or bias).
	bias := Load(Param("bias"), GP64())
	flags := Load(Param("flags"), GP64())
	m := Load(Param("m"), GP64())
	zero := bv[0]
	VPXORD(zero, zero, zero)
	// the columns of C that exist: a ragged last B panel is zero-padded
	cm := K()
	KMOVW(Load(Param("cols"), GP32()), cm)
	for i := 0; i < rows; i++ {
		if i > 0 {
			CMPQ(m, U8(i))
			JLE(LabelRef(name + "_done"))
		}
		row := fmt.Sprintf("%s_r%d", name, i)
		for v := 0; v < nv; v++ {
			VADDPS_BCST(Mem{Base: bias, Disp: 4 * i}, acc[i][v], acc[i][v])
		}
		TESTQ(U32(1), flags)
		JZ(LabelRef(row + "_noacc"))
		for v := 0; v < nv; v++ {
			VADDPS(Mem{Base: c, Disp: 64 * v}, acc[i][v], cm, acc[i][v])
		}
		Label(row + "_noacc")
		TESTQ(U32(2), flags)
		JZ(LabelRef(row + "_norelu"))
		for v := 0; v < nv; v++ {
			// max(0, s) keeping NaN and −0 as the Go loop does
			VMAXPS(acc[i][v], zero, acc[i][v])
		}
		Label(row + "_norelu")
		for v := 0; v < nv; v++ {
			VMOVUPS(acc[i][v], cm, Mem{Base: c, Disp: 64 * v})
		}
		if i < rows-1 {
			ADDQ(ldc, c)
		}
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genSgemmZCol emits sgemmKernelZCol{nc}: nc (1 or 2) columns of np packed
// 6-row A panels, for the narrow column tails of a GEMM (a 7×7 plane has
// 49 = 3·16+1 columns, a batch-1 head one) on AVX-512 machines. Each panel step is one FMA with a memory operand masked to its
// six rows (AVX-512VL), so np·nc chains run at once and no lane is wasted
// on rows of the next step. Each entry is one FMA chain in k order from
// zero, as in the tile kernels, so a column gives bit for bit the sums of
// whichever kernel computes it.
func genSgemmZCol(np, nc int) {
	name := fmt.Sprintf("sgemmKernelZCol%d", nc)
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, b *float32, ldb int, out *float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s writes out[(x*%d+p)*8+i] = Σ_{kk<k} a[p*lda+kk*6+i]·b[kk*ldb+x] for x < %d,", name, np, nc),
		fmt.Sprintf("p < %d, i < 6, each sum one FMA chain in kk order from zero, and zeros to lanes 6 and 7", np),
		"(k ≥ 1; lda, ldb in elements; it needs AVX-512F and VL).",
	)
	k := Load(Param("k"), GP64())
	pa := panelPointers(np)
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	mask := K()
	m := GP32()
	MOVL(U32(0x3f), m)
	KMOVW(m, mask)
	// acc[x][p]: column x of panel p; bv[x]: the broadcast b of column x
	acc, bv := tileRegisters(nc, np, YMM, VPXORD)
	off := GP64()
	XORQ(off, off)
	Label(name + "_loop")
	for p := 0; p < np; p++ {
		PREFETCHT0(Mem{Base: pa[p], Index: off, Scale: 1, Disp: 768})
	}
	for x := 0; x < nc; x++ {
		VBROADCASTSS(Mem{Base: b, Disp: 4 * x}, bv[x])
	}
	for p := 0; p < np; p++ {
		for x := 0; x < nc; x++ {
			VFMADD231PS(Mem{Base: pa[p], Index: off, Scale: 1}, bv[x], mask, acc[x][p])
		}
	}
	ADDQ(U8(24), off)
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	out := Load(Param("out"), GP64())
	for x := 0; x < nc; x++ {
		for p := 0; p < np; p++ {
			VMOVUPS(acc[x][p], Mem{Base: out, Disp: 32 * (x*np + p)})
		}
	}
	VZEROUPPER()
	RET()
}

// genGatherEven emits gatherEven, the stride-2 copy of im2col for 3×3
// stride-2 convolutions (the stem): two loads, an in-lane shuffle of the
// even elements and a cross-lane permute per 8 outputs.
func genGatherEven() {
	TEXT("gatherEven", NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(
		"gatherEven sets dst[i] = src[2*i] for i < n, n a multiple of 8; it reads",
		"src[0 : 2*n] (one float past the last one it copies).",
	)
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	SHRQ(U8(3), n)
	JZ(LabelRef("gather_done"))
	a, b := YMM(), YMM()
	Label("gather_loop")
	VMOVUPS(Mem{Base: src}, a)
	VMOVUPS(Mem{Base: src, Disp: 32}, b)
	VSHUFPS(U8(0x88), b, a, a)
	VPERMPD(U8(0xD8), a, a)
	VMOVUPS(a, Mem{Base: dst})
	ADDQ(U8(64), src)
	ADDQ(U8(32), dst)
	DECQ(n)
	JNZ(LabelRef("gather_loop"))
	Label("gather_done")
	VZEROUPPER()
	RET()
}

// dwZPrologue starts an AVX-512 depthwise kernel: the nine weights and the
// bias broadcast (params w, bias), a zero vector, and krelu, all lanes when
// the param relu ≠ 0 and none otherwise (for a masked VMAXPS). bp keeps
// the bias address.
func dwZPrologue() (w []reg.VecVirtual, vb, z reg.VecVirtual, krelu, bp reg.Register) {
	wp := Load(Param("w"), GP64())
	w = make([]reg.VecVirtual, 9)
	for i := range w {
		w[i] = ZMM()
		VBROADCASTSS(Mem{Base: wp, Disp: 4 * i}, w[i])
	}
	bp = Load(Param("bias"), GP64())
	vb = ZMM()
	VBROADCASTSS(Mem{Base: bp}, vb)
	z = ZMM()
	VPXORD(z, z, z)
	krelu = K()
	t, m := GP32(), GP32()
	XORL(t, t)
	rl := Load(Param("relu"), GP64())
	MOVL(U32(0xffff), m)
	TESTQ(rl, rl)
	CMOVLNE(m, t)
	KMOVW(t, krelu)
	return w, vb, z, krelu, bp
}

// lanesMask sets the mask register k to the low min(max(n, 0), 16) lanes
// (n is kept; t and m are scratch).
func lanesMask(k reg.Register, n, t, m reg.GPVirtual) {
	MOVQ(n, t)
	XORL(m.As32(), m.As32())
	CMPQ(t, U8(0))
	CMOVQLT(m, t)
	MOVL(U32(16), m.As32())
	CMPQ(t, m)
	CMOVQGT(m, t)
	MOVL(U32(0xffff), m.As32())
	BZHIL(t.As32(), m.As32(), t.As32())
	KMOVW(t.As32(), k)
}

// genDepthwiseS1PlaneZ emits the AVX-512 whole-plane stride-1 kernel (pad
// 1, any W ≥ 1). It walks the plane in strips of 16 columns, top to
// bottom, keeping the three input rows an output row needs in registers
// (each as its centre and its neighbours at x−1 and x+1, loaded with
// zero-masking, so the borders and rows of any width need no special
// code): one new input row is loaded per output row, and the rows of a
// strip are independent, so their FMA chains overlap. Only the W outputs
// of a row are stored. The operations per output are those of
// dwConv3x3s1Plane (and dwConv3x3s1Row): (bias + taps of kernel columns 0
// and 2, row by row) + (taps of column 1), so the two give the same bits.
func genDepthwiseS1PlaneZ() {
	name := "dwConv3x3s1PlaneZ"
	TEXT(name, NOSPLIT, "func(out, in, w *float32, H, W int, bias *float32, relu int, zero *float32)")
	Pragma("noescape")
	Doc(
		name+" computes one H×W output plane of a 3×3 depthwise convolution",
		"with stride 1 and padding 1 from the H×W input plane in (W ≥ 1, H ≥ 1).",
		"The contract is dwConv3x3s1Plane's (zero is not read); it needs AVX-512F and BMI2.",
	)
	w, vb, z, krelu, _ := dwZPrologue()
	t, m := GP64(), GP64()
	W := Load(Param("W"), GP64())
	rowBytes := GP64()
	MOVQ(W, rowBytes)
	SHLQ(U8(2), rowBytes)
	x := GP64() // first column of the strip
	XORQ(x, x)
	kc, kl, kr := K(), K(), K()
	// rows[0..2]: the input rows y−1, y, y+1 as {left, centre, right}
	var rows [3][3]reg.VecVirtual
	for i := range rows {
		for j := range rows[i] {
			rows[i][j] = ZMM()
		}
	}
	acc0, acc1 := ZMM(), ZMM()
	r, o, y, n := GP64(), GP64(), GP64(), GP64()
	load := func(dst [3]reg.VecVirtual, base reg.Register) {
		VMOVUPS_Z(Mem{Base: base, Index: x, Scale: 4, Disp: -4}, kl, dst[0])
		VMOVUPS_Z(Mem{Base: base, Index: x, Scale: 4}, kc, dst[1])
		VMOVUPS_Z(Mem{Base: base, Index: x, Scale: 4, Disp: 4}, kr, dst[2])
	}
	zeroRow := func(dst [3]reg.VecVirtual) {
		for _, v := range dst {
			VPXORD(v, v, v)
		}
	}
	compute := func() {
		VMOVAPS(vb, acc0)
		VPXORD(acc1, acc1, acc1)
		for ky := 0; ky < 3; ky++ {
			VFMADD231PS(rows[ky][1], w[ky*3+1], acc1)
			VFMADD231PS(rows[ky][0], w[ky*3], acc0)
			VFMADD231PS(rows[ky][2], w[ky*3+2], acc0)
		}
		VADDPS(acc1, acc0, acc0)
		VMAXPS(acc0, z, krelu, acc0)
		VMOVUPS(acc0, kc, Mem{Base: o, Index: x, Scale: 4})
	}
	shift := func() {
		for j := 0; j < 3; j++ {
			VMOVAPS(rows[1][j], rows[0][j])
			VMOVAPS(rows[2][j], rows[1][j])
		}
	}

	Label(name + "_strip")
	// masks of the strip at x: kc lanes x+i < W, kr x+i+1 < W, kl = kc
	// without lane 0 on the first strip
	MOVL(U32(0xffff), m.As32())
	for i, k := range []reg.Register{kr, kc} {
		MOVQ(W, n)
		SUBQ(x, n)
		if i == 0 {
			DECQ(n)
		}
		MOVQ(U64(16), t)
		CMPQ(n, t)
		CMOVQGT(t, n)
		BZHIL(n.As32(), m.As32(), t.As32())
		KMOVW(t.As32(), k)
	}
	MOVL(U32(0xfffe), t.As32())
	MOVL(U32(0xffff), n.As32())
	TESTQ(x, x)
	CMOVLNE(n.As32(), t.As32())
	KMOVW(t.As32(), kl)
	KANDW(kc, kl, kl)

	Load(Param("in"), r)
	Load(Param("out"), o)
	zeroRow(rows[0])
	load(rows[1], r)
	Load(Param("H"), y)
	DECQ(y)
	JZ(LabelRef(name + "_lastrow"))
	Label(name + "_row")
	ADDQ(rowBytes, r)
	load(rows[2], r)
	compute()
	shift()
	ADDQ(rowBytes, o)
	DECQ(y)
	JNZ(LabelRef(name + "_row"))
	Label(name + "_lastrow")
	zeroRow(rows[2])
	compute()

	ADDQ(U8(16), x)
	CMPQ(x, W)
	JL(LabelRef(name + "_strip"))
	VZEROUPPER()
	RET()
}

// splitTaps splits the 32 inputs a:b of a stride-2, 3-tap row (from
// column 2x on) into the taps of 16 outputs: ev the even lanes (tap 1), od
// the odd ones (tap 2), k0 the odd lanes shifted by one lane with prev's
// last (tap 0); prev then holds od for the next 16 outputs. ei and oi hold
// the even- and odd-lane indices.
func splitTaps(a, b, ei, oi, prev, k0, ev, od reg.VecVirtual) {
	VMOVAPS(a, ev)
	VPERMT2PS(b, ei, ev)
	VMOVAPS(a, od)
	VPERMT2PS(b, oi, od)
	VALIGND(U8(15), prev, od, k0)
	VMOVAPS(od, prev)
}

// genDepthwiseS2PlaneZ emits the AVX-512 whole-plane stride-2 kernel (pad
// 1, W ≥ 18): 16 outputs at a time from two zero-masked 16-float loads per
// input row, split into even lanes (tap kx = 1) and odd lanes (kx = 2) with
// VPERMT2PS; tap kx = 0 is the odd lanes shifted by one (VALIGND with the
// previous vector's odd lanes, zero before the row). The sums are those of
// dwConv3x3s2Row bit for bit: interior outputs (bias + taps kx = 0 and 2,
// row by row) + (taps kx = 1), and the first output and, for odd W, the
// last one as a single chain from the bias over the taps inside the row,
// recomputed as dwConv3x3s2Row's border code does.
func genDepthwiseS2PlaneZ() {
	name := "dwConv3x3s2PlaneZ"
	TEXT(name, NOSPLIT, "func(out, in, w *float32, H, W int, bias *float32, relu int, zero *float32, borders int)")
	Pragma("noescape")
	Doc(
		name+" computes the ((H−1)/2+1)×((W−1)/2+1) output plane of a 3×3",
		"depthwise convolution with stride 2 and padding 1 from the H×W input",
		"plane in (W ≥ 2, H ≥ 1); zero points to at least W zeros, read in",
		"place of rows outside the plane. Every output is (bias + taps kx = 0",
		"and 2, row by row) + (taps kx = 1), except: with borders&1 the first",
		"of a row, and with borders&2 and W odd (W ≥ 3) the last, are one chain",
		"from the bias over the taps inside the row. With borders = 3 and",
		"W ≥ 18 each output row is what dwConv3x3s2Row gives for its three",
		"input rows. It needs AVX-512F and BMI2.",
	)
	perm := func(name string, first int) Mem {
		g := GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(uint32(first+2*i)))
		}
		return g
	}
	evenIdx, oddIdx := perm("dwEvenLanes", 0), perm("dwOddLanes", 1)
	w, vb, z, krelu, bp := dwZPrologue()
	ei, oi := ZMM(), ZMM()
	VMOVUPS(evenIdx, ei)
	VMOVUPS(oddIdx, oi)
	t, m := GP64(), GP64()
	W := Load(Param("W"), GP64())
	ow := GP64() // (W−1)/2 + 1
	LEAQ(Mem{Base: W, Disp: 1}, ow)
	SHRQ(U8(1), ow)
	// The last vector starts at xl = 16·⌊(ow−1)/16⌋: kout its outputs,
	// ka and kb the input lanes that exist of its two loads.
	xl := GP64()
	LEAQ(Mem{Base: ow, Disp: -1}, xl)
	ANDQ(I32(-16), xl)
	kout, ka, kb := K(), K(), K()
	MOVL(U32(0xffff), m.As32())
	n := GP64()
	MOVQ(ow, n)
	SUBQ(xl, n)
	BZHIL(n.As32(), m.As32(), t.As32())
	KMOVW(t.As32(), kout)
	MOVQ(W, n)
	SUBQ(xl, n)
	SUBQ(xl, n) // W − 2·xl ≥ 1 input lanes from 2·xl
	lanesMask(ka, n, t, m)
	SUBQ(U8(16), n)
	lanesMask(kb, n, t, m)
	out := Load(Param("out"), GP64())
	in := Load(Param("in"), GP64())
	rowBytes := GP64()
	MOVQ(W, rowBytes)
	SHLQ(U8(2), rowBytes)
	y := GP64() // input row of the output row's centre tap
	XORQ(y, y)
	r0, r1, r2, x := GP64(), GP64(), GP64(), GP64()
	rows := []reg.Register{r0, r1, r2}
	acc0, acc1, a, b, ev, od, k0 := ZMM(), ZMM(), ZMM(), ZMM(), ZMM(), ZMM(), ZMM()
	prev := []reg.VecVirtual{ZMM(), ZMM(), ZMM()}
	// block computes the 16 outputs at x; full: no masks.
	block := func(full bool) {
		VMOVAPS(vb, acc0)
		VPXORD(acc1, acc1, acc1)
		for ky := 0; ky < 3; ky++ {
			r := rows[ky]
			lo := Mem{Base: r, Index: x, Scale: 8}
			hi := lo
			hi.Disp = 64
			if full {
				VMOVUPS(lo, a)
				VMOVUPS(hi, b)
			} else {
				VMOVUPS_Z(lo, ka, a)
				VMOVUPS_Z(hi, kb, b)
			}
			splitTaps(a, b, ei, oi, prev[ky], k0, ev, od)
			VFMADD231PS(k0, w[ky*3], acc0)
			VFMADD231PS(ev, w[ky*3+1], acc1)
			VFMADD231PS(od, w[ky*3+2], acc0)
		}
		VADDPS(acc1, acc0, acc0)
		VMAXPS(acc0, z, krelu, acc0)
		if full {
			VMOVUPS(acc0, Mem{Base: out, Index: x, Scale: 4})
		} else {
			VMOVUPS(acc0, kout, Mem{Base: out, Index: x, Scale: 4})
		}
	}
	// border writes the single-chain sum over taps kxs of the inputs at
	// column idx (bytes) onwards to out at byte offset ob.
	border := func(idx reg.Register, kxs []int, ob reg.Register, label string) {
		s, u := XMM(), XMM()
		VMOVSS(Mem{Base: bp}, s)
		for ky := 0; ky < 3; ky++ {
			for i, kx := range kxs {
				VFMADD231SS(Mem{Base: rows[ky], Index: idx, Scale: 1, Disp: 4 * i}, w[ky*3+kx].AsX(), s)
			}
		}
		KORTESTW(krelu, krelu)
		JZ(LabelRef(label))
		VXORPS(u, u, u)
		VMAXSS(s, u, s)
		Label(label)
		VMOVSS(s, Mem{Base: out, Index: ob, Scale: 1})
	}

	Label(name + "_row")
	// r0 = y > 0 ? in + (y−1)·W : zero; r1 = in + y·W; r2 = y+1 < H ? in + (y+1)·W : zero
	zp := Load(Param("zero"), GP64())
	MOVQ(in, r1)
	MOVQ(r1, r0)
	SUBQ(rowBytes, r0)
	TESTQ(y, y)
	CMOVQEQ(zp, r0)
	LEAQ(Mem{Base: r1, Index: rowBytes, Scale: 1}, r2)
	LEAQ(Mem{Base: y, Disp: 1}, t)
	CMPQ(t, NewParamAddr("H", 24))
	CMOVQGE(zp, r2)
	for _, p := range prev {
		VPXORD(p, p, p)
	}
	XORQ(x, x)
	Label(name + "_vec")
	CMPQ(x, xl)
	JGE(LabelRef(name + "_last"))
	block(true)
	ADDQ(U8(16), x)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_last")
	block(false)

	// the first output, and the last one when W is odd
	bo := Load(Param("borders"), GP64())
	TESTQ(U32(1), bo)
	JZ(LabelRef(name + "_right"))
	XORQ(x, x)
	border(x, []int{1, 2}, x, name+"_b0")
	Label(name + "_right")
	TESTQ(U32(2), bo)
	JZ(LabelRef(name + "_next"))
	TESTQ(U32(1), W)
	JZ(LabelRef(name + "_next"))
	LEAQ(Mem{Base: W, Disp: -2}, x)
	SHLQ(U8(2), x) // byte offset of column W−2
	MOVQ(x, t)
	SHRQ(U8(1), t)
	ADDQ(U8(2), t) // byte offset of output ow−1 = (W−1)/2: 2·(W−1)
	border(x, []int{0, 1}, t, name+"_b1")

	Label(name + "_next")
	LEAQ(Mem{Base: out, Index: ow, Scale: 4}, out)
	LEAQ(Mem{Base: in, Index: rowBytes, Scale: 2}, in)
	ADDQ(U8(2), y)
	CMPQ(y, NewParamAddr("H", 24))
	JL(LabelRef(name + "_row"))
	VZEROUPPER()
	RET()
}

// genIm2colS2Z emits im2colS2K3Z, the im2col rows of a 3-wide kernel with
// stride 2 and padding 1 (the stem) on AVX-512: from one input row src of
// W floats it writes the three rows d0, d1, d2 (taps kx = 0, 1, 2) of ow
// outputs each, d_kx[x] = src[2x+kx−1] or 0 outside the row. Per 16
// outputs: two zero-masked loads, the even lanes (kx = 1) and odd lanes
// (kx = 2) with VPERMT2PS, the odd lanes shifted by one with the previous
// vector's (kx = 0) by VALIGND, and three masked stores.
func genIm2colS2Z() {
	name := "im2colS2K3Z"
	TEXT(name, NOSPLIT, "func(d0, d1, d2, src *float32, W, ow int)")
	Pragma("noescape")
	Doc(
		name+" writes d_kx[x] = src[2x+kx−1] (0 when 2x+kx−1 < 0 or ≥ W) for",
		"kx < 3 and x < ow (W ≥ 1, ow ≥ 1); it needs AVX-512F and BMI2.",
	)
	ei, oi := ZMM(), ZMM()
	VMOVUPS(NewDataAddr(Symbol{Name: "dwEvenLanes", Static: true}, 0), ei)
	VMOVUPS(NewDataAddr(Symbol{Name: "dwOddLanes", Static: true}, 0), oi)
	d := []reg.Register{Load(Param("d0"), GP64()), Load(Param("d1"), GP64()), Load(Param("d2"), GP64())}
	src := Load(Param("src"), GP64())
	W := Load(Param("W"), GP64())
	ow := Load(Param("ow"), GP64())
	x := GP64()
	XORQ(x, x)
	prev, a, b, ev, od, k0 := ZMM(), ZMM(), ZMM(), ZMM(), ZMM(), ZMM()
	VPXORD(prev, prev, prev)
	n, t, m := GP64(), GP64(), GP64()
	ka, kb, ko := K(), K(), K()
	clampMask := func(k reg.Register) { lanesMask(k, n, t, m) }
	Label(name + "_loop")
	MOVQ(ow, n)
	SUBQ(x, n)
	clampMask(ko)
	MOVQ(W, n)
	SUBQ(x, n)
	SUBQ(x, n) // W − 2x input lanes from 2x
	clampMask(ka)
	SUBQ(U8(16), n)
	clampMask(kb)
	VMOVUPS_Z(Mem{Base: src, Index: x, Scale: 8}, ka, a)
	VMOVUPS_Z(Mem{Base: src, Index: x, Scale: 8, Disp: 64}, kb, b)
	splitTaps(a, b, ei, oi, prev, k0, ev, od)
	VMOVUPS(k0, ko, Mem{Base: d[0], Index: x, Scale: 4})
	VMOVUPS(ev, ko, Mem{Base: d[1], Index: x, Scale: 4})
	VMOVUPS(od, ko, Mem{Base: d[2], Index: x, Scale: 4})
	ADDQ(U8(16), x)
	CMPQ(x, ow)
	JL(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
