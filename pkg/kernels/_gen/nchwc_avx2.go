package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// reluMax sets up the clamp of a kernel's outputs, on when test leaves a
// non-zero result (JZ not taken), and returns the emitter of the clamp:
// max(0, s), keeping NaN and −0 as the Go loops do, when on, s when off.
// AVX-512 masks a max with zero; AVX2, without masks, takes the max with
// a floor register, 0 when on and −Inf when off (max(−Inf, s) = s for
// every s, NaN included).
func (v vecISA) reluMax(name string, test func()) func(a reg.VecVirtual) {
	if v.lanes == 1 {
		z := ZMM()
		VPXORD(z, z, z)
		krelu := K()
		t, m := GP32(), GP32()
		XORL(t, t)
		MOVL(U32(0xffff), m)
		test()
		CMOVLNE(m, t)
		KMOVW(t, krelu)
		return func(a reg.VecVirtual) { VMAXPS(a, z, krelu, a) }
	}
	floor := YMM()
	// −Inf is 0xff800000: all ones shifted left by 23
	VPCMPEQD(floor, floor, floor)
	VPSLLD(U8(23), floor, floor)
	test()
	JZ(LabelRef(name + "_norelu"))
	VXORPS(floor, floor, floor)
	Label(name + "_norelu")
	return func(a reg.VecVirtual) { VMAXPS(a, floor, a) }
}

// genPoolBlock emits poolBlock{Z,Y}: the mean over hw ≥ 1 pixels of one
// 16-channel block of NCHWc activations, each lane summed in float64 in
// pixel order (the sums of GlobalAvgPool), divided by hw in float64 and
// rounded to float32. The 16 float64 sums take 2·lanes registers.
func genPoolBlock(v vecISA) {
	name := "poolBlock" + v.suffix
	TEXT(name, NOSPLIT, "func(out, x *float32, hw int)")
	Pragma("noescape")
	Doc(
		name+" writes out[l] = float32(Σ_p float64(x[p*16+l]) / float64(hw)) for l < 16",
		"(hw ≥ 1; sums in pixel order); it needs "+v.needs+".",
	)
	x := Load(Param("x"), GP64())
	hw := Load(Param("hw"), GP64())
	n := GP64()
	MOVQ(hw, n)
	k := 2 * v.lanes
	step := 64 / k // bytes of float32 per sum register
	s, t := make([]reg.VecVirtual, k), make([]reg.VecVirtual, k)
	for i := range s {
		s[i], t[i] = v.vec(), v.vec()
		v.zero(s[i], s[i], s[i])
	}
	Label(name + "_loop")
	for i := range s {
		VCVTPS2PD(Mem{Base: x, Disp: step * i}, t[i])
	}
	for i := range s {
		VADDPD(t[i], s[i], s[i])
	}
	ADDQ(U8(64), x)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	d := v.vec()
	VCVTSI2SDQ(hw, d.AsX(), d.AsX())
	VBROADCASTSD(d.AsX(), d)
	out := Load(Param("out"), GP64())
	for i := range s {
		VDIVPD(d, s[i], s[i])
		// the float32 halves of s[i]
		h := s[i].AsY()
		if v.lanes == 1 {
			VCVTPD2PS(s[i], h)
		} else {
			h = s[i].AsX()
			VCVTPD2PSY(s[i], h)
		}
		VMOVUPS(h, Mem{Base: out, Disp: step * i})
	}
	VZEROUPPER()
	RET()
}

// genScaleBlock emits scaleBlock{Z,Y}: n ≥ 1 pixels of one 16-channel
// block times the block's 16 scales, in place, clamped at 0 when relu ≠ 0.
func genScaleBlock(v vecISA) {
	name := "scaleBlock" + v.suffix
	TEXT(name, NOSPLIT, "func(x, s *float32, n, relu int)")
	Pragma("noescape")
	Doc(
		name+" writes x[p*16+l] = x[p*16+l] * s[l] (then max(0, ·), keeping NaN and −0, when",
		"relu ≠ 0) for p < n, l < 16 (n ≥ 1); it needs "+v.needs+".",
	)
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	sp := Load(Param("s"), GP64())
	sv, t := make([]reg.VecVirtual, v.lanes), make([]reg.VecVirtual, v.lanes)
	for h := range sv {
		sv[h], t[h] = v.vec(), v.vec()
		VMOVUPS(Mem{Base: sp, Disp: h * v.width()}, sv[h])
	}
	clamp := v.reluMax(name, func() {
		rl := Load(Param("relu"), GP64())
		TESTQ(rl, rl)
	})
	Label(name + "_loop")
	for h := range sv {
		VMULPS(Mem{Base: x, Disp: h * v.width()}, sv[h], t[h])
		clamp(t[h])
		VMOVUPS(t[h], Mem{Base: x, Disp: h * v.width()})
	}
	ADDQ(U8(64), x)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
