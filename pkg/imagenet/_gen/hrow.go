package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genHRow generates hrow<t>AVX2, the horizontal pass over one row for
// plans of t taps (2 ≤ t ≤ 8). Each 128-bit lane computes one output
// pixel: a 16-byte load at its offset holds up to five source pixels
// (t > 5 takes a second load 15 bytes on), VPSHUFB spreads pixel k's three
// bytes to three int32 lanes (and a zero), VPMULLD multiplies them by the
// tap's weight, repeated over the lane. The 8 outputs of a step are paired
// (i, i+4) so that the packs leave them in order.
func genHRow(c consts, t int) {
	name := fmt.Sprintf("hrow%dAVX2", t)
	TEXT(name, NOSPLIT, "func(o, row *byte, off *int, w *int32, n int)")
	Pragma("noescape")
	Doc(
		name+" is hrow"+fmt.Sprint(t)+" (and hrow"+fmt.Sprint(t)+"NC, whose sums the caller has proved to",
		"lie in [0, 256<<22), where clip8 is the plain shift) for the first n",
		"outputs, n a positive multiple of 8:",
		"",
		"\tfor i < n, c < 3:",
		fmt.Sprintf("\t\to[3i+c] = clip8(half + Σ_{j<%d} int32(row[off[i]+3j+c])*wx(i, j))", t),
		"",
		"where wx(i, j) is w's int32 at ((i/8*4 + i%4)*"+fmt.Sprint(t)+" + j)*8 + 4*(i%8/4)",
		"(hwide's layout: per step of 8 outputs and pair (i, i+4), per tap, the",
		"two weights each repeated over four lanes). It reads",
		fmt.Sprintf("row[off[i] : off[i]+%d] for each output, so the caller checks that those", 15*((t-1)/5)+16),
		"bytes exist.",
	)
	o := Load(Param("o"), GP64())
	row := Load(Param("row"), GP64())
	off := Load(Param("off"), GP64())
	w := Load(Param("w"), GP64())
	n := Load(Param("n"), GP64())
	taps := min(t, 5)
	var masks [5]reg.VecVirtual
	for k := 0; k < taps; k++ {
		masks[k] = YMM()
		VMOVDQU(c.taps[k], masks[k])
	}
	half, compact := YMM(), YMM()
	VMOVDQU(c.half, half)
	VMOVDQU(c.compact, compact)

	Label(name + "_loop")
	var acc [4]reg.VecVirtual
	for p := range acc {
		acc[p] = YMM()
		lo, hi := GP64(), GP64()
		MOVQ(Mem{Base: off, Disp: 8 * p}, lo)
		MOVQ(Mem{Base: off, Disp: 8 * (p + 4)}, hi)
		src := YMM()
		for j := 0; j < t; j++ {
			g, k := j/5, j%5
			if k == 0 {
				VMOVDQU(Mem{Base: row, Index: lo, Scale: 1, Disp: 15 * g}, src.AsX())
				VINSERTI128(U8(1), Mem{Base: row, Index: hi, Scale: 1, Disp: 15 * g}, src, src)
			}
			x := YMM()
			VPSHUFB(masks[k], src, x)
			VPMULLD(Mem{Base: w, Disp: 32 * (p*t + j)}, x, x)
			if j == 0 {
				VPADDD(half, x, acc[p])
			} else {
				VPADDD(x, acc[p], acc[p])
			}
		}
		VPSRAD(U8(precisionBits), acc[p], acc[p])
	}
	// Per lane: words of outputs (i, i+1) and (i+2, i+3), then their
	// bytes, four per pixel, then three per pixel.
	VPACKSSDW(acc[1], acc[0], acc[0])
	VPACKSSDW(acc[3], acc[2], acc[2])
	VPACKUSWB(acc[2], acc[0], acc[0])
	VPSHUFB(compact, acc[0], acc[0])
	VMOVDQU(acc[0].AsX(), Mem{Base: o}) // bytes 12..15 are rewritten next
	hi := XMM()
	VEXTRACTI128(U8(1), acc[0], hi)
	VMOVQ(hi, Mem{Base: o, Disp: 12})
	VPEXTRD(U8(2), hi, Mem{Base: o, Disp: 20})

	ADDQ(U8(24), o)
	ADDQ(U8(64), off)
	ADDQ(U32(4*t*32), w)
	SUBQ(U8(8), n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
