package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genHRow generates hrow<t>AVX2, the horizontal pass over one row for
// plans of t taps (2 ≤ t ≤ maxHTaps), or for t = 0 hrowNAVX2, the same
// for plans of any multiple of 5 taps, looping over groups of 5. Each
// 128-bit lane computes one output pixel: a 16-byte load at its offset
// holds five source pixels (more taps take more loads, 15 bytes apart),
// VPSHUFB spreads pixel k's three bytes to three int32 lanes (and a zero),
// VPMULLD multiplies them by the tap's weight, repeated over the lane. The
// 8 outputs of a step are paired (i, i+4) so that the packs leave them in
// order.
func genHRow(c consts, t int) {
	name, args, taps, read := fmt.Sprintf("hrow%dAVX2", t), "n int", fmt.Sprint(t), fmt.Sprint(15*((t-1)/5)+16)
	lead := []string{
		name + " is hrow" + taps + " (and hrow" + taps + "NC, whose sums the caller has proved to",
		"lie in [0, 256<<22), where clip8 is the plain shift) for the first n",
		"outputs, n a positive multiple of 8:",
	}
	if t == 0 {
		name, args, taps, read = "hrowNAVX2", "groups, n int", "T", "15*groups+1"
		lead = []string{
			name + " is hrowN for plans of T = 5·groups taps (the plan's own",
			"padded with zero weights) for the first n outputs, n a positive",
			"multiple of 8:",
		}
	}
	TEXT(name, NOSPLIT, "func(o, row *byte, off *int, w *int32, "+args+")")
	Pragma("noescape")
	Doc(append(lead,
		"",
		"\tfor i < n, c < 3:",
		"\t\to[3i+c] = clip8(half + Σ_{j<"+taps+"} int32(row[off[i]+3j+c])*wx(i, j))",
		"",
		"where wx(i, j) is w's int32 at ((i/8*4 + i%4)*"+taps+" + j)*8 + 4*(i%8/4)",
		"(hwide's layout: per step of 8 outputs and pair (i, i+4), per tap, the",
		"two weights each repeated over four lanes). It reads",
		"row[off[i] : off[i]+"+read+"] for each output, so the caller checks that",
		"those bytes exist.",
	)...)
	o := Load(Param("o"), GP64())
	row := Load(Param("row"), GP64())
	off := Load(Param("off"), GP64())
	w := Load(Param("w"), GP64())
	var groups reg.Register
	if t == 0 {
		groups = Load(Param("groups"), GP64())
	}
	n := Load(Param("n"), GP64())
	var masks [5]reg.VecVirtual
	for k := 0; k < 5 && (k < t || t == 0); k++ {
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
		ADDQ(row, lo)
		ADDQ(row, hi)
		src := YMM()
		load := func(disp int) {
			VMOVDQU(Mem{Base: lo, Disp: disp}, src.AsX())
			VINSERTI128(U8(1), Mem{Base: hi, Disp: disp}, src, src)
		}
		tap := func(k int, wk Mem, first bool) {
			x := YMM()
			VPSHUFB(masks[k], src, x)
			VPMULLD(wk, x, x)
			if first {
				VPADDD(half, x, acc[p])
			} else {
				VPADDD(x, acc[p], acc[p])
			}
		}
		if t > 0 {
			for j := 0; j < t; j++ {
				if j%5 == 0 {
					load(15 * (j / 5))
				}
				tap(j%5, Mem{Base: w, Disp: 32 * (p*t + j)}, j == 0)
			}
		} else {
			// w runs over the pairs' weights, 5 taps per group.
			g := GP64()
			MOVQ(groups, g)
			VMOVDQU(half, acc[p])
			Label(fmt.Sprintf("%s_pair%d", name, p))
			load(0)
			for k := 0; k < 5; k++ {
				tap(k, Mem{Base: w, Disp: 32 * k}, false)
			}
			ADDQ(U8(15), lo)
			ADDQ(U8(15), hi)
			ADDQ(U32(5*32), w)
			DECQ(g)
			JNZ(LabelRef(fmt.Sprintf("%s_pair%d", name, p)))
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
	if t > 0 {
		ADDQ(U32(4*t*32), w)
	}
	SUBQ(U8(8), n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
