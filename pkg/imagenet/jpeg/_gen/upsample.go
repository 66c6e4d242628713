package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// zxw loads 16 bytes at m zero-extended to 16 words.
func zxw(m Mem) reg.VecVirtual {
	x := YMM()
	VPMOVZXBW(m, x)
	return x
}

// times3 returns 3·x (16-bit lanes).
func times3(x reg.VecVirtual) reg.VecVirtual {
	t := YMM()
	VPADDW(x, x, t)
	VPADDW(x, t, t)
	return t
}

// fancyPairs finishes 16 output pairs of a triangle filter: with v the
// 3× weighted nearer inputs and e, o the further ones, it stores
// (v+e+be)>>shift and (v+o+bo)>>shift alternately as 32 bytes at out.
func fancyPairs(v, e, o reg.VecVirtual, be, bo Mem, shift int, out Mem) {
	VPADDW(v, e, e)
	VPADDW(be, e, e)
	VPSRLW(U8(shift), e, e)
	VPADDW(v, o, o)
	VPADDW(bo, o, o)
	VPSRLW(U8(shift), o, o)
	VPSLLW(U8(8), o, o) // both are 0..255: one word holds a pair
	VPOR(o, e, e)
	VMOVDQU(e, out)
}

func genH2V1() {
	one := splat16("upOne", 1)
	two := splat16("upTwo", 2)
	TEXT("h2v1FancyMid", NOSPLIT, "func(in, out *byte, n int)")
	Pragma("noescape")
	Doc(
		"h2v1FancyMid computes the interior of h2v1Fancy (n a positive multiple",
		"of 16; it reads in[0:n+2] and writes out[0:2n]):",
		"",
		"\tfor j < n:",
		"\t\tv := 3 * int(in[j+1])",
		"\t\tout[2j] = byte((v + int(in[j]) + 1) >> 2)",
		"\t\tout[2j+1] = byte((v + int(in[j+2]) + 2) >> 2)",
	)
	in := Load(Param("in"), GP64())
	out := Load(Param("out"), GP64())
	n := Load(Param("n"), GP64())
	Label("h2v1_loop")
	v := times3(zxw(Mem{Base: in, Disp: 1}))
	fancyPairs(v, zxw(Mem{Base: in}), zxw(Mem{Base: in, Disp: 2}), one, two, 2, Mem{Base: out})
	ADDQ(U8(16), in)
	ADDQ(U8(32), out)
	SUBQ(U8(16), n)
	JNZ(LabelRef("h2v1_loop"))
	VZEROUPPER()
	RET()
}

func genH2V2() {
	seven := splat16("upSeven", 7)
	eight := splat16("upEight", 8)
	TEXT("h2v2FancyMid", NOSPLIT, "func(in0, in1, out *byte, n int)")
	Pragma("noescape")
	Doc(
		"h2v2FancyMid computes the interior of h2v2Fancy (n a positive multiple",
		"of 16; it reads in0[0:n+2], in1[0:n+2] and writes out[0:2n]):",
		"",
		"\tcol := func(i int) int { return 3*int(in0[i]) + int(in1[i]) }",
		"\tfor j < n:",
		"\t\tout[2j] = byte((3*col(j+1) + col(j) + 8) >> 4)",
		"\t\tout[2j+1] = byte((3*col(j+1) + col(j+2) + 7) >> 4)",
	)
	in0 := Load(Param("in0"), GP64())
	in1 := Load(Param("in1"), GP64())
	out := Load(Param("out"), GP64())
	n := Load(Param("n"), GP64())
	col := func(d int) reg.VecVirtual {
		c := times3(zxw(Mem{Base: in0, Disp: d}))
		VPADDW(zxw(Mem{Base: in1, Disp: d}), c, c)
		return c
	}
	Label("h2v2_loop")
	v := times3(col(1))
	fancyPairs(v, col(0), col(2), eight, seven, 4, Mem{Base: out})
	ADDQ(U8(16), in0)
	ADDQ(U8(16), in1)
	ADDQ(U8(32), out)
	SUBQ(U8(16), n)
	JNZ(LabelRef("h2v2_loop"))
	VZEROUPPER()
	RET()
}
