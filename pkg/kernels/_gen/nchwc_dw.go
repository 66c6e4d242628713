package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genDwRows emits dwRows{Z,Y}s{stride}: output rows [y0, y1) of a 3×3
// depthwise convolution (padding 1) on one 16-channel block of NCHWc
// activations. For output row y, rows r0, r1, r2 are the input rows y·s−1,
// y·s, y·s+1 (iw pixels of 16 floats; a row outside the plane is a
// pointer to zeros), w holds the nine taps as 16-float vectors (tap
// ky·3+kx at w[(ky*3+kx)*16]).
//
// Every output is the sum one of the NCHW kernels gives, taps outside the
// row skipped: (bias + taps kx = 0 and 2, row by row) + (taps kx = 1), the
// plane kernels' two chains, or with flags&8 the AVX2 row kernel's: (bias
// + taps 00, 10, 12, 21) + (taps 01, 02, 11, 20, 22); with flags&2 the
// first output, and with flags&4 the last, is one chain from the bias over
// its taps in (ky, kx) order. Outputs [1, xr) have all three columns inside
// the row; output 0 misses column 0 and, when xr < ow, output ow−1 column
// 2; xr = 0 is a single output (ow = 1) missing both. flags&1 clamps at 0.
//
// On AVX-512 the nine taps and the bias stay in registers and 8 outputs
// are computed at a time; at stride 1 each input column of the 8 is loaded
// once and feeds every output it is a tap of (on AVX2 likewise for the 3). On AVX2 nine taps of a whole block (18 YMM)
// do not fit, so each row is computed twice, once per 8-channel half with
// that half's nine taps in registers, 3 outputs (6 chains) at a time.
func genDwRows(v vecISA, stride int) {
	name := fmt.Sprintf("dwRows%ss%d", v.suffix, stride)
	TEXT(name, NOSPLIT, "func(out, in, zero, w, bias *float32, H, iw, ow, xr, flags, y0, y1 int)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes output rows [y0, y1) (y0 < y1) of a 3×3 depthwise convolution with stride %d", name, stride),
		"on one 16-channel block of NCHWc activations, the H×iw input plane in and the ow-wide output",
		"plane out (see genDwRows in _gen; zero points to iw·16 zeros); it needs "+v.needs+".",
	)
	const pix = 64
	sp := stride * pix
	z512 := v.lanes == 1
	var (
		w      []reg.VecVirtual
		vb     reg.VecVirtual // AVX-512: the bias
		biasp  reg.Register   // AVX2: the bias
		unroll []int
		hoff   int // AVX2: the byte offset of the half being computed
	)
	loadTaps := func(wp reg.Register) {
		w = make([]reg.VecVirtual, 9)
		for i := range w {
			w[i] = v.vec()
			VMOVUPS(Mem{Base: wp, Disp: 64*i + hoff}, w[i])
		}
	}
	if z512 {
		loadTaps(Load(Param("w"), GP64()))
		vb = ZMM()
		VMOVUPS(Mem{Base: Load(Param("bias"), GP64())}, vb)
		unroll = []int{8, 4, 1}
	} else {
		unroll = []int{3, 1}
	}
	flags := Load(Param("flags"), GP64())
	clamp := v.reluMax(name, func() { TESTQ(U32(1), flags) })
	if !z512 {
		biasp = Load(Param("bias"), GP64())
	}
	r := [3]reg.Register{GP64(), GP64(), GP64()}
	out := GP64()
	y := Load(Param("y0"), GP64())
	ow, xr := GP64(), GP64()
	x := GP64()   // byte offset of the current output: 64 per pixel
	off := GP64() // byte offset of its input column: x·s
	n := GP64()
	accs := make([]reg.VecVirtual, 2*unroll[0])
	for i := range accs {
		accs[i] = v.vec()
	}
	tap := func(ky, kx, u int) Mem {
		return Mem{Base: r[ky], Index: off, Scale: 1, Disp: u*sp + (kx-1)*pix + hoff}
	}
	outAt := func(u int) Mem {
		return Mem{Base: out, Index: x, Scale: 1, Disp: u*pix + hoff}
	}
	startA := func(a reg.VecVirtual) {
		if z512 {
			VMOVAPS(vb, a)
		} else {
			VMOVUPS(Mem{Base: biasp, Disp: hoff}, a)
		}
	}
	finish := func(a reg.VecVirtual, u int) {
		clamp(a)
		VMOVUPS(a, outAt(u))
	}
	// twoChain computes outputs x+us[i] over the columns in cols; inB
	// tells which taps go to the second chain.
	twoChain := func(us []int, cols []bool, inB func(ky, kx int) bool) {
		k := len(us)
		a, b := accs[:k], accs[k:2*k]
		for i := range us {
			startA(a[i])
			v.zero(b[i], b[i], b[i])
		}
		if stride == 1 && k > 1 {
			// Neighbouring outputs share input columns: load each of a
			// row's k+2 columns once and apply it to the (up to three)
			// outputs it feeds, instead of k·9 memory operands. Each
			// accumulator still takes its taps in (ky, kx) order, so the
			// sums are the same. (At stride 2, where a column feeds at
			// most two outputs and the kernels wait on memory, it gave
			// nothing: 48@112² 38 µs either way.)
			t := []reg.VecVirtual{v.vec(), v.vec()}
			if !z512 {
				t = t[:1] // 9 taps and 6 chains leave one of the 16 YMM registers
			}
			for ky := 0; ky < 3; ky++ {
				for c := -1; c <= k; c++ { // the input column of output u, tap kx, is u+kx−1
					tc := t[(c+1)%len(t)]
					VMOVUPS(Mem{Base: r[ky], Index: off, Scale: 1, Disp: c*pix + hoff}, tc)
					for i, u := range us {
						kx := c - u + 1
						if kx < 0 || kx > 2 || !cols[kx] {
							continue
						}
						acc := a[i]
						if inB(ky, kx) {
							acc = b[i]
						}
						VFMADD231PS(tc, w[ky*3+kx], acc)
					}
				}
			}
		} else {
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
		}
		for i, u := range us {
			VADDPS(b[i], a[i], a[i])
			finish(a[i], u)
		}
	}
	oneChain := func(u int, cols []bool) {
		acc := accs[0]
		startA(acc)
		for ky := 0; ky < 3; ky++ {
			for kx := 0; kx < 3; kx++ {
				if cols[kx] {
					VFMADD231PS(tap(ky, kx, u), w[ky*3+kx], acc)
				}
			}
		}
		finish(acc, u)
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
	// body computes one output row (or half row) and jumps to done.
	body := func(p, done string, split func(ky, kx int) bool) {
		XORQ(x, x)
		XORQ(off, off)
		TESTQ(xr, xr)
		JNZ(LabelRef(p + "_first"))
		edge(p+"_only", 2, only, split)
		JMP(LabelRef(done))
		Label(p + "_first")
		edge(p+"_left", 2, left, split)
		ADDQ(U32(pix), x)
		ADDQ(U32(sp), off)
		// outputs [1, xr), unroll[0], ... then 1 at a time; n counts
		// those left
		MOVQ(xr, n)
		DECQ(n)
		for _, u := range unroll {
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
		JGE(LabelRef(done))
		edge(p+"_right", 4, right, split)
		JMP(LabelRef(done))
	}
	// both chain assignments, by flags&8
	rowBody := func(p, done string) {
		TESTQ(U32(8), flags)
		JNZ(LabelRef(p + "_rowsplit"))
		body(p+"_p", done, dwPlaneSplit)
		Label(p + "_rowsplit")
		body(p+"_r", done, dwRowSplit)
	}
	Label(name + "_row")
	dwRowPointers(stride, y, r, out)
	Load(Param("ow"), ow)
	Load(Param("xr"), xr)
	if z512 {
		rowBody(name, name+"_done")
	} else {
		for h := 0; h < 2; h++ {
			hoff = 32 * h
			p := fmt.Sprintf("%s_h%d", name, h)
			loadTaps(Load(Param("w"), GP64()))
			rowBody(p, p+"_done")
			Label(p + "_done")
		}
		hoff = 0
	}
	if z512 {
		Label(name + "_done")
	}
	INCQ(y)
	CMPQ(y, Load(Param("y1"), GP64()))
	JL(LabelRef(name + "_row"))
	VZEROUPPER()
	RET()
}

// dwPlaneSplit: the plane kernels' second chain holds the taps kx = 1.
func dwPlaneSplit(ky, kx int) bool { return kx == 1 }

// dwRowSplit: the AVX2 row kernel's, where tap 01 starts chain B and the
// others alternate A, B in (ky, kx) order.
func dwRowSplit(ky, kx int) bool {
	if ky == 0 && kx == 1 {
		return true
	}
	i := ky*3 + kx
	if i > 1 {
		i--
	}
	return i%2 == 1
}

// dwRowPointers points out at output row y (64 bytes a pixel, ow pixels a
// row) and r at the input rows y·s−1, y·s, y·s+1, the zero row for those
// outside 0..H−1.
func dwRowPointers(stride int, y reg.Register, r [3]reg.Register, out reg.Register) {
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
