package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

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
