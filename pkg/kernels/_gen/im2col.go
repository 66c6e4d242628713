package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

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
