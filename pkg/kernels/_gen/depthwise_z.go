package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

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
