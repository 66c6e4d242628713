package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genPwZ emits pwKernelZ{nb}x{np}, the AVX-512 pointwise (1×1) convolution
// tile on NCHWc activations (channel blocks of 16 floats): nb blocks of 16
// output channels at np consecutive pixels, nb·np accumulators. For each
// input channel it loads the nb weight vectors once and broadcasts the
// channel's value at each pixel once, so a step is nb loads, np broadcasts
// and nb·np FMAs.
func genPwZ(nb, np int) {
	name := fmt.Sprintf("pwKernelZ%dx%d", nb, np)
	TEXT(name, NOSPLIT, "func(kb int, w *float32, x *float32, xcs int, y *float32, ycs int, bias *float32, flags int, tiles int)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes %d output channel blocks at %d pixels of a 1×1 convolution on", name, nb, np),
		"NCHWc activations (kb ≥ 1 input blocks of 16 channels):",
		"",
		fmt.Sprintf("\tfor b < %d, p < %d, l < 16:", nb, np),
		"\t\td := 0",
		"\t\tfor c < 16·kb: d += w[(c*nb+b)*16+l] * x[(c/16)*xcs+p*16+c%16]  // FMA, vectorised over l",
		"\t\ts := bias[b*16+l] + d",
		"\t\tif flags&1 != 0 { s += y[b*ycs+p*16+l] }",
		"\t\tif flags&2 != 0 && s < 0 { s = 0 }",
		"\t\ty[b*ycs+p*16+l] = s",
		"",
		"and again for tiles ≥ 1 tiles, x and y advancing by np pixels each time.",
		"xcs and ycs are in elements; it needs AVX-512F.",
	)
	kb := Load(Param("kb"), GP64())
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	tiles := Load(Param("tiles"), GP64())
	acc, wv := tileRegisters(nb, np, ZMM, VPXORD)
	wv = wv[:min(nb, len(wv))]
	for len(wv) < nb {
		wv = append(wv, ZMM())
	}
	xv := []reg.VecVirtual{ZMM(), ZMM()}
	k, w, xp := GP64(), GP64(), GP64()
	xcs := Load(Param("xcs"), GP64())
	SHLQ(U8(2), xcs)
	Label(name + "_tile")
	MOVQ(kb, k)
	Load(Param("w"), w)
	MOVQ(x, xp)
	Label(name + "_block")
	for p := 0; p < np; p++ {
		PREFETCHT0(Mem{Base: xp, Index: xcs, Scale: 1, Disp: 64 * p})
	}
	for j := 0; j < 16; j++ {
		for b := 0; b < nb; b++ {
			VMOVUPS(Mem{Base: w, Disp: (j*nb + b) * 64}, wv[b])
		}
		for p := 0; p < np; p++ {
			t := xv[p%2]
			VBROADCASTSS(Mem{Base: xp, Disp: p*64 + j*4}, t)
			for b := 0; b < nb; b++ {
				VFMADD231PS(t, wv[b], acc[b][p])
			}
		}
	}
	ADDQ(U32(16*nb*64), w)
	ADDQ(xcs, xp)
	DECQ(k)
	JNZ(LabelRef(name + "_block"))
	blockEpilogue(name, acc, wv, xv[0], y)
	ADDQ(U32(np*64), x)
	ADDQ(U32(np*64), y)
	DECQ(tiles)
	JZ(LabelRef(name + "_ret"))
	for b := range acc {
		for p := range acc[b] {
			VPXORD(acc[b][p], acc[b][p], acc[b][p])
		}
	}
	JMP(LabelRef(name + "_tile"))
	Label(name + "_ret")
	VZEROUPPER()
	RET()
}

// blockEpilogue ends a kernel whose accumulators acc[b][p] hold output
// channel block b at pixel p: + bias (16 floats per block), + y when
// flags&1, ReLU when flags&2, stored at y + b·ycs + p·16 (ycs in
// elements, y a register holding the tile's address, left as it is). t
// (len(acc) registers) and zero are free vector registers.
func blockEpilogue(name string, acc [][]reg.VecVirtual, t []reg.VecVirtual, zero reg.VecVirtual, y reg.Register) {
	nb, np := len(acc), len(acc[0])
	ycs := Load(Param("ycs"), GP64())
	SHLQ(U8(2), ycs)
	bias := Load(Param("bias"), GP64())
	flags := Load(Param("flags"), GP64())
	for b := 0; b < nb; b++ {
		VMOVUPS(Mem{Base: bias, Disp: 64 * b}, t[b])
		for p := 0; p < np; p++ {
			VADDPS(t[b], acc[b][p], acc[b][p])
		}
	}
	r := GP64()
	TESTQ(U32(1), flags)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(y, r)
	for b := 0; b < nb; b++ {
		for p := 0; p < np; p++ {
			VADDPS(Mem{Base: r, Disp: 64 * p}, acc[b][p], acc[b][p])
		}
		if b < nb-1 {
			ADDQ(ycs, r)
		}
	}
	Label(name + "_noacc")
	TESTQ(U32(2), flags)
	JZ(LabelRef(name + "_norelu"))
	VPXORD(zero, zero, zero)
	for b := 0; b < nb; b++ {
		for p := 0; p < np; p++ {
			// max(0, s) keeping NaN and −0 as the Go loop does
			VMAXPS(acc[b][p], zero, acc[b][p])
		}
	}
	Label(name + "_norelu")
	MOVQ(y, r)
	for b := 0; b < nb; b++ {
		for p := 0; p < np; p++ {
			VMOVUPS(acc[b][p], Mem{Base: r, Disp: 64 * p})
		}
		if b < nb-1 {
			ADDQ(ycs, r)
		}
	}
}

// genDwRowZ emits dwRowZs{stride}, one output row of a 3×3 depthwise
// convolution (padding 1) on one 16-channel block of NCHWc activations:
// rows r0, r1, r2 are the input rows y·s−1, y·s, y·s+1 (iw pixels of 16
// floats; a row outside the plane is a pointer to zeros), w holds the nine
// taps as 16-float vectors (tap ky·3+kx at w[(ky*3+kx)*16]).
//
// Every output is the sum one of the NCHW kernels gives, taps outside the
// row skipped: (bias + taps kx = 0 and 2, row by row) + (taps kx = 1), the
// plane kernels' two chains, or with flags&8 the AVX2 row kernel's: (bias
// + taps 00, 10, 12, 21) + (taps 01, 02, 11, 20, 22); with flags&2 the
// first output, and with flags&4 the last, is one chain from the bias over
// its taps in (ky, kx) order. Outputs [1, xr) have all three columns inside
// the row; output 0 misses column 0 and, when xr < ow, output ow−1 column
// 2; xr = 0 is a single output (ow = 1) missing both. flags&1 clamps at 0.
func genDwRowZ(stride int) {
	name := fmt.Sprintf("dwRowsZs%d", stride)
	TEXT(name, NOSPLIT, "func(out, in, zero, w, bias *float32, H, iw, ow, xr, flags, y0, y1 int)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes output rows [y0, y1) (y0 < y1) of a 3×3 depthwise convolution with stride %d", name, stride),
		"on one 16-channel block of NCHWc activations, the H×iw input plane in and the ow-wide output",
		"plane out (see genDwRowZ in _gen; zero points to iw·16 zeros); it needs AVX-512F.",
	)
	const pix = 64
	sp := stride * pix
	wp := Load(Param("w"), GP64())
	w := make([]reg.VecVirtual, 9)
	for i := range w {
		w[i] = ZMM()
		VMOVUPS(Mem{Base: wp, Disp: 64 * i}, w[i])
	}
	vb := ZMM()
	VMOVUPS(Mem{Base: Load(Param("bias"), GP64())}, vb)
	z := ZMM()
	VPXORD(z, z, z)
	flags := GP64()
	Load(Param("flags"), flags)
	krelu := K()
	{
		t, m := GP32(), GP32()
		XORL(t, t)
		MOVL(U32(0xffff), m)
		TESTQ(U32(1), flags)
		CMOVLNE(m, t)
		KMOVW(t, krelu)
	}
	r := [3]reg.Register{GP64(), GP64(), GP64()}
	out := GP64()
	y := Load(Param("y0"), GP64())
	ow, xr := GP64(), GP64()
	x := GP64()   // byte offset of the current output: 64 per pixel
	off := GP64() // byte offset of its input column: x·s
	n := GP64()
	accs := make([]reg.VecVirtual, 16)
	for i := range accs {
		accs[i] = ZMM()
	}
	tap := func(ky, kx, u int) Mem {
		return Mem{Base: r[ky], Index: off, Scale: 1, Disp: u*sp + (kx-1)*pix}
	}
	outAt := func(u int) Mem {
		return Mem{Base: out, Index: x, Scale: 1, Disp: u * pix}
	}
	finish := func(a reg.VecVirtual, u int) {
		VMAXPS(a, z, krelu, a)
		VMOVUPS(a, outAt(u))
	}
	// twoChain computes outputs x+us[i] over the columns in cols; inB
	// tells which taps go to the second chain.
	twoChain := func(us []int, cols []bool, inB func(ky, kx int) bool) {
		k := len(us)
		a, b := accs[:k], accs[k:2*k]
		for i := range us {
			VMOVAPS(vb, a[i])
			VPXORD(b[i], b[i], b[i])
		}
		for ky := 0; ky < 3; ky++ {
			for kx := 0; kx < 3; kx++ {
				if !cols[kx] {
					continue
				}
				for i, u := range us {
					acc := a[i]
					if inB(ky, kx) {
						acc = b[i]
					}
					VFMADD231PS(tap(ky, kx, u), w[ky*3+kx], acc)
				}
			}
		}
		for i, u := range us {
			VADDPS(b[i], a[i], a[i])
			finish(a[i], u)
		}
	}
	oneChain := func(u int, cols []bool) {
		acc := accs[0]
		VMOVAPS(vb, acc)
		for ky := 0; ky < 3; ky++ {
			for kx := 0; kx < 3; kx++ {
				if cols[kx] {
					VFMADD231PS(tap(ky, kx, u), w[ky*3+kx], acc)
				}
			}
		}
		finish(acc, u)
	}
	planeSplit := func(ky, kx int) bool { return kx == 1 }
	rowSplit := func(ky, kx int) bool {
		// the AVX2 row kernel: tap 01 starts chain B, the others alternate
		// A, B in (ky, kx) order
		if ky == 0 && kx == 1 {
			return true
		}
		i := ky*3 + kx
		if i > 1 {
			i--
		}
		return i%2 == 1
	}
	// output with one chain (flag set) or two
	edge := func(label string, flag int, cols []bool, split func(ky, kx int) bool) {
		TESTQ(U32(flag), flags)
		JZ(LabelRef(label + "_two"))
		oneChain(0, cols)
		JMP(LabelRef(label + "_end"))
		Label(label + "_two")
		twoChain([]int{0}, cols, split)
		Label(label + "_end")
	}
	left, right := []bool{false, true, true}, []bool{true, true, false}
	only, all := []bool{false, true, false}, []bool{true, true, true}
	body := func(p string, split func(ky, kx int) bool) {
		XORQ(x, x)
		XORQ(off, off)
		TESTQ(xr, xr)
		JNZ(LabelRef(p + "_first"))
		edge(p+"_only", 2, only, split)
		JMP(LabelRef(name + "_done"))
		Label(p + "_first")
		edge(p+"_left", 2, left, split)
		ADDQ(U32(pix), x)
		ADDQ(U32(sp), off)
		// outputs [1, xr), 8, 4 then 1 at a time; n counts those left
		MOVQ(xr, n)
		DECQ(n)
		for _, u := range []int{8, 4, 1} {
			lbl := fmt.Sprintf("%s_m%d", p, u)
			Label(lbl)
			CMPQ(n, U8(u))
			JL(LabelRef(lbl + "_done"))
			us := make([]int, u)
			for i := range us {
				us[i] = i
			}
			twoChain(us, all, split)
			ADDQ(U32(u*pix), x)
			ADDQ(U32(u*sp), off)
			SUBQ(U8(u), n)
			JMP(LabelRef(lbl))
			Label(lbl + "_done")
		}
		// the last output when its column 2 is outside the row
		CMPQ(xr, ow)
		JGE(LabelRef(name + "_done"))
		edge(p+"_right", 4, right, split)
		JMP(LabelRef(name + "_done"))
	}
	Label(name + "_row")
	{
		// out row y; input rows y·s−1, y·s, y·s+1 (zero outside 0..H−1)
		rb, t, zp, h := GP64(), GP64(), GP64(), GP64()
		Load(Param("ow"), t)
		SHLQ(U8(6), t)
		IMULQ(y, t)
		Load(Param("out"), out)
		ADDQ(t, out)
		Load(Param("iw"), rb)
		SHLQ(U8(6), rb)
		MOVQ(y, t)
		if stride == 2 {
			SHLQ(U8(1), t)
		}
		Load(Param("zero"), zp)
		Load(Param("H"), h)
		// r1 = in + iy·rb
		IMULQ(rb, t)
		Load(Param("in"), r[1])
		ADDQ(t, r[1])
		MOVQ(r[1], r[0])
		SUBQ(rb, r[0])
		MOVQ(r[1], r[2])
		ADDQ(rb, r[2])
		// iy = y·s; row iy−1 < 0 when iy == 0; row iy+1 ≥ H when iy+1 ≥ H
		MOVQ(y, t)
		if stride == 2 {
			SHLQ(U8(1), t)
		}
		TESTQ(t, t)
		CMOVQEQ(zp, r[0])
		INCQ(t)
		CMPQ(t, h)
		CMOVQGE(zp, r[2])
	}
	Load(Param("ow"), ow)
	Load(Param("xr"), xr)
	TESTQ(U32(8), flags)
	JNZ(LabelRef(name + "_rowsplit"))
	body(name+"_p", planeSplit)
	Label(name + "_rowsplit")
	body(name+"_r", rowSplit)
	Label(name + "_done")
	INCQ(y)
	CMPQ(y, Load(Param("y1"), GP64()))
	JL(LabelRef(name + "_row"))
	VZEROUPPER()
	RET()
}

// pwTiles lists the pixel counts of the blocked kernels for nb output
// blocks (at most 26 accumulators of the 32 ZMM registers).
func pwTiles(nb int) []int {
	if nb == 3 {
		return []int{8, 4, 2, 1}
	}
	return []int{12, 8, 4, 2, 1}
}

// genBlocked emits the NCHWc inference kernels.
func genBlocked() {
	for nb := 1; nb <= 3; nb++ {
		for _, np := range pwTiles(nb) {
			genPwZ(nb, np)
		}
	}
	for nb := 1; nb <= 3; nb++ {
		for _, np := range pwTiles(nb) {
			genStemZ(nb, np, 2)
		}
	}
	genDwRowZ(1)
	genDwRowZ(2)
	genPoolBlockZ()
	genScaleBlockZ()
}

// genStemZ emits stemKernelZ{nb}x{np}s{stride}: a dense convolution on
// NCHW input (the stem: 3 channels) into nb blocks of 16 output channels
// at np consecutive output pixels of one row, NCHWc. The input is a
// zero-padded copy, so every tap is inside it: tap t of output pixel p
// reads x at byte offset offs[t] + p·stride·4. Weights are packed
// [tap][nb][16]. Each output is one FMA chain in tap order from zero, then
// the epilogue of the pointwise kernels: the sums of the im2col GEMM with
// K = taps ≤ 256 bit for bit.
func genStemZ(nb, np, stride int) {
	name := fmt.Sprintf("stemKernelZ%dx%ds%d", nb, np, stride)
	TEXT(name, NOSPLIT, "func(taps int, offs *int, w *float32, x *float32, y *float32, ycs int, bias *float32, flags int, tiles int)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes %d output channel blocks at %d pixels of a dense convolution with", name, nb, np),
		fmt.Sprintf("stride %d from a zero-padded NCHW input into NCHWc output (taps ≥ 1):", stride),
		"",
		fmt.Sprintf("\tfor b < %d, p < %d, l < 16:", nb, np),
		"\t\td := 0",
		fmt.Sprintf("\t\tfor t < taps: d += w[(t*%d+b)*16+l] * x[offs[t]/4 + p*%d]  // FMA, vectorised over l", nb, stride),
		"\t\tthen the epilogue of the pointwise kernels (bias, flags, y, ycs)",
		"",
		"and again for tiles ≥ 1 tiles, x advancing by np·stride and y by np pixels each time.",
		"offs are in bytes; it needs AVX-512F.",
	)
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	tiles := Load(Param("tiles"), GP64())
	acc, wv := tileRegisters(nb, np, ZMM, VPXORD)
	wv = wv[:min(nb, len(wv))]
	for len(wv) < nb {
		wv = append(wv, ZMM())
	}
	xv := []reg.VecVirtual{ZMM(), ZMM()}
	taps, offs, w, o := GP64(), GP64(), GP64(), GP64()
	Label(name + "_tile")
	Load(Param("taps"), taps)
	Load(Param("offs"), offs)
	Load(Param("w"), w)
	Label(name + "_tap")
	MOVQ(Mem{Base: offs}, o)
	for b := 0; b < nb; b++ {
		VMOVUPS(Mem{Base: w, Disp: b * 64}, wv[b])
	}
	for p := 0; p < np; p++ {
		t := xv[p%2]
		VBROADCASTSS(Mem{Base: x, Index: o, Scale: 1, Disp: p * stride * 4}, t)
		for b := 0; b < nb; b++ {
			VFMADD231PS(t, wv[b], acc[b][p])
		}
	}
	ADDQ(U8(8), offs)
	ADDQ(U32(nb*64), w)
	DECQ(taps)
	JNZ(LabelRef(name + "_tap"))
	blockEpilogue(name, acc, wv, xv[0], y)
	ADDQ(U32(np*stride*4), x)
	ADDQ(U32(np*64), y)
	DECQ(tiles)
	JZ(LabelRef(name + "_ret"))
	for b := range acc {
		for p := range acc[b] {
			VPXORD(acc[b][p], acc[b][p], acc[b][p])
		}
	}
	JMP(LabelRef(name + "_tile"))
	Label(name + "_ret")
	VZEROUPPER()
	RET()
}

// genPoolBlockZ emits poolBlockZ: the mean over hw ≥ 1 pixels of one
// 16-channel block of NCHWc activations, each lane summed in float64 in
// pixel order (the sums of GlobalAvgPool), divided by hw in float64 and
// rounded to float32.
func genPoolBlockZ() {
	name := "poolBlockZ"
	TEXT(name, NOSPLIT, "func(out, x *float32, hw int)")
	Pragma("noescape")
	Doc(
		name+" writes out[l] = float32(Σ_p float64(x[p*16+l]) / float64(hw)) for l < 16",
		"(hw ≥ 1; sums in pixel order); it needs AVX-512F.",
	)
	x := Load(Param("x"), GP64())
	hw := Load(Param("hw"), GP64())
	n := GP64()
	MOVQ(hw, n)
	lo, hi, t0, t1 := ZMM(), ZMM(), ZMM(), ZMM()
	VPXORD(lo, lo, lo)
	VPXORD(hi, hi, hi)
	Label(name + "_loop")
	VCVTPS2PD(Mem{Base: x}, t0)
	VCVTPS2PD(Mem{Base: x, Disp: 32}, t1)
	VADDPD(t0, lo, lo)
	VADDPD(t1, hi, hi)
	ADDQ(U8(64), x)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	d := ZMM()
	VCVTSI2SDQ(hw, d.AsX(), d.AsX())
	VBROADCASTSD(d.AsX(), d)
	VDIVPD(d, lo, lo)
	VDIVPD(d, hi, hi)
	out := Load(Param("out"), GP64())
	VCVTPD2PS(lo, lo.AsY())
	VCVTPD2PS(hi, hi.AsY())
	VMOVUPS(lo.AsY(), Mem{Base: out})
	VMOVUPS(hi.AsY(), Mem{Base: out, Disp: 32})
	VZEROUPPER()
	RET()
}

// genScaleBlockZ emits scaleBlockZ: n ≥ 1 pixels of one 16-channel block
// times the block's 16 scales, in place, clamped at 0 when relu ≠ 0.
func genScaleBlockZ() {
	name := "scaleBlockZ"
	TEXT(name, NOSPLIT, "func(x, s *float32, n, relu int)")
	Pragma("noescape")
	Doc(
		name+" writes x[p*16+l] = x[p*16+l] * s[l] (then max(0, ·), keeping NaN and −0, when",
		"relu ≠ 0) for p < n, l < 16 (n ≥ 1); it needs AVX-512F.",
	)
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	sv, z, v := ZMM(), ZMM(), ZMM()
	VMOVUPS(Mem{Base: Load(Param("s"), GP64())}, sv)
	VPXORD(z, z, z)
	krelu := K()
	{
		t, m := GP32(), GP32()
		XORL(t, t)
		MOVL(U32(0xffff), m)
		rl := Load(Param("relu"), GP64())
		TESTQ(rl, rl)
		CMOVLNE(m, t)
		KMOVW(t, krelu)
	}
	Label(name + "_loop")
	VMULPS(Mem{Base: x}, sv, v)
	VMAXPS(v, z, krelu, v)
	VMOVUPS(v, Mem{Base: x})
	ADDQ(U8(64), x)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
