package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// yccFix is jdcolor.c's FIX(): x scaled by 2¹⁶ and rounded.
func yccFix(x float64) int32 { return int32(x*(1<<16) + 0.5) }

func genYCC() {
	center := splat("yccCenter", 128)
	half := splat("yccHalf", 1<<15)
	kB := splat("yccCbB", yccFix(1.77200))
	kR := splat("yccCrR", yccFix(1.40200))
	kGb := splat("yccCbG", -yccFix(0.34414))
	kGr := splat("yccCrG", -yccFix(0.71414))
	shuf := GLOBL("yccInterleave", RODATA|NOPTR)
	for lane := 0; lane < 2; lane++ {
		for i := 0; i < 16; i++ {
			b := 0x80 // zero
			if i < 12 {
				b = (i%3)*4 + i/3
			}
			DATA(16*lane+i, U8(b))
		}
	}

	TEXT("yccRowAVX2", NOSPLIT, "func(y, cb, cr, out *byte, n int)")
	Pragma("noescape")
	Doc(
		"yccRowAVX2 is yccRow for the first n pixels (n a positive multiple of 8),",
		"with libjpeg's tables computed from their formulas in 32-bit lanes:",
		"",
		"\tfor x < n:",
		"\t\tb, r := int32(cb[x])-128, int32(cr[x])-128",
		"\t\tout[3x+0] = clamp(y[x] + (FIX(1.772)*b + ONE_HALF) >> 16)",
		"\t\tout[3x+1] = clamp(y[x] + (-FIX(0.34414)*b - FIX(0.71414)*r + ONE_HALF) >> 16)",
		"\t\tout[3x+2] = clamp(y[x] + (FIX(1.402)*r + ONE_HALF) >> 16)",
		"",
		"Each group of 8 pixels is stored as two 16-byte writes, so it writes",
		"out[3n:3n+4] too (with garbage): the caller leaves that room.",
	)
	yp := Load(Param("y"), GP64())
	cbp := Load(Param("cb"), GP64())
	crp := Load(Param("cr"), GP64())
	op := Load(Param("out"), GP64())
	n := Load(Param("n"), GP64())

	Label("ycc_loop")
	y, cb, cr := YMM(), YMM(), YMM()
	VPMOVZXBD(Mem{Base: yp}, y)
	VPMOVZXBD(Mem{Base: cbp}, cb)
	VPMOVZXBD(Mem{Base: crp}, cr)
	VPSUBD(center, cb, cb)
	VPSUBD(center, cr, cr)
	b, g, r := YMM(), YMM(), YMM()
	scaled := func(dst reg.VecVirtual) {
		VPADDD(half, dst, dst)
		VPSRAD(U8(16), dst, dst)
		VPADDD(y, dst, dst)
	}
	VPMULLD(kB, cb, b)
	scaled(b)
	VPMULLD(kR, cr, r)
	scaled(r)
	VPMULLD(kGb, cb, cb)
	VPMULLD(kGr, cr, cr)
	VPADDD(cr, cb, g)
	scaled(g)
	bg, rr := YMM(), YMM()
	VPACKSSDW(g, b, bg) // per lane: B0-3 G0-3 | B4-7 G4-7 (words)
	VPACKSSDW(r, r, rr) // R0-3 R0-3 | R4-7 R4-7
	VPACKUSWB(rr, bg, bg)
	VPSHUFB(shuf, bg, bg) // per lane: B G R × 4, then 4 zero bytes
	VMOVDQU(bg.AsX(), Mem{Base: op})
	VEXTRACTI128(U8(1), bg, bg.AsX())
	VMOVDQU(bg.AsX(), Mem{Base: op, Disp: 12})
	ADDQ(U8(8), yp)
	ADDQ(U8(8), cbp)
	ADDQ(U8(8), crp)
	ADDQ(U8(24), op)
	SUBQ(U8(8), n)
	JNZ(LabelRef("ycc_loop"))
	VZEROUPPER()
	RET()
}

func genGray() {
	var masks [3]Mem
	for c := range masks {
		masks[c] = GLOBL(fmt.Sprintf("grayTriple%d", c), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(i, U8((16*c+i)/3))
		}
	}
	TEXT("grayRowAVX2", NOSPLIT, "func(in, out *byte, n int)")
	Pragma("noescape")
	Doc(
		"grayRowAVX2 replicates each of the first n gray samples (n a positive",
		"multiple of 16) to three bytes:",
		"",
		"\tfor x < n: out[3x], out[3x+1], out[3x+2] = in[x], in[x], in[x]",
	)
	in := Load(Param("in"), GP64())
	out := Load(Param("out"), GP64())
	n := Load(Param("n"), GP64())
	Label("gray_loop")
	g := XMM()
	VMOVDQU(Mem{Base: in}, g)
	for c, m := range masks {
		t := XMM()
		VPSHUFB(m, g, t)
		VMOVDQU(t, Mem{Base: out, Disp: 16 * c})
	}
	ADDQ(U8(16), in)
	ADDQ(U8(48), out)
	SUBQ(U8(16), n)
	JNZ(LabelRef("gray_loop"))
	VZEROUPPER()
	RET()
}
