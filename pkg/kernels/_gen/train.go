package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genElementwise emits the vector bodies of ReLU, ReLUBackward and Add:
// n must be a positive multiple of 8; the Go callers do the tail.
func genElementwise() {
	// reluVec: out[i] = x[i] < 0 ? 0 : x[i], keeping NaN and −0 as the Go
	// loop does (VMAXPS returns its second source, x, on NaN and equality).
	TEXT("reluVec", NOSPLIT, "func(out, x *float32, n int)")
	Pragma("noescape")
	Doc("reluVec writes max(0, x[i]) for i < n (n a positive multiple of 8), keeping NaN and −0.")
	{
		out := Load(Param("out"), GP64())
		x := Load(Param("x"), GP64())
		n := Load(Param("n"), GP64())
		z := YMM()
		VXORPS(z, z, z)
		i := GP64()
		XORQ(i, i)
		v := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
		end4 := GP64()
		MOVQ(n, end4)
		ANDQ(I32(-32), end4)
		Label("relu_loop4")
		CMPQ(i, end4)
		JGE(LabelRef("relu_tail"))
		for u := 0; u < 4; u++ {
			VMAXPS(Mem{Base: x, Index: i, Scale: 4, Disp: 32 * u}, z, v[u])
		}
		for u := 0; u < 4; u++ {
			VMOVUPS(v[u], Mem{Base: out, Index: i, Scale: 4, Disp: 32 * u})
		}
		ADDQ(U8(32), i)
		JMP(LabelRef("relu_loop4"))
		Label("relu_tail")
		CMPQ(i, n)
		JGE(LabelRef("relu_done"))
		VMAXPS(Mem{Base: x, Index: i, Scale: 4}, z, v[0])
		VMOVUPS(v[0], Mem{Base: out, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		JMP(LabelRef("relu_tail"))
		Label("relu_done")
		VZEROUPPER()
		RET()
	}

	// Two-operand bodies: 16 floats a step while they fit, then one
	// 8-float step; nothing is read past n.
	binary := func(name, doc string, body func(dst reg.VecVirtual, p0, p1 reg.Register, i reg.Register, disp int)) {
		TEXT(name, NOSPLIT, "func(out, p0, p1 *float32, n int)")
		Pragma("noescape")
		Doc(doc)
		out := Load(Param("out"), GP64())
		p0 := Load(Param("p0"), GP64())
		p1 := Load(Param("p1"), GP64())
		n := Load(Param("n"), GP64())
		i := GP64()
		XORQ(i, i)
		end2 := GP64()
		MOVQ(n, end2)
		ANDQ(I32(-16), end2)
		v := []reg.VecVirtual{YMM(), YMM()}
		Label(name + "_loop2")
		CMPQ(i, end2)
		JGE(LabelRef(name + "_tail"))
		for u := 0; u < 2; u++ {
			body(v[u], p0, p1, i, 32*u)
		}
		for u := 0; u < 2; u++ {
			VMOVUPS(v[u], Mem{Base: out, Index: i, Scale: 4, Disp: 32 * u})
		}
		ADDQ(U8(16), i)
		JMP(LabelRef(name + "_loop2"))
		Label(name + "_tail")
		CMPQ(i, n)
		JGE(LabelRef(name + "_done"))
		body(v[0], p0, p1, i, 0)
		VMOVUPS(v[0], Mem{Base: out, Index: i, Scale: 4})
		Label(name + "_done")
		VZEROUPPER()
		RET()
	}
	binary("reluBackwardVec", "reluBackwardVec writes out[i] = p1[i] > 0 ? p0[i] : 0 (p0 = dy, p1 = y) for i < n (n a positive multiple of 8).",
		func(dst reg.VecVirtual, p0, p1, i reg.Register, disp int) {
			z := YMM()
			VXORPS(z, z, z)
			VMOVUPS(Mem{Base: p1, Index: i, Scale: 4, Disp: disp}, dst)
			// dst = (y > 0) mask: predicate GT_OQ (0x1E), Go order imm, src2, src1, dst
			VCMPPS(U8(0x1E), z, dst, dst)
			VANDPS(Mem{Base: p0, Index: i, Scale: 4, Disp: disp}, dst, dst)
		})
	binary("addVec", "addVec writes out[i] = p0[i] + p1[i] for i < n (n a positive multiple of 8).",
		func(dst reg.VecVirtual, p0, p1, i reg.Register, disp int) {
			VMOVUPS(Mem{Base: p0, Index: i, Scale: 4, Disp: disp}, dst)
			VADDPS(Mem{Base: p1, Index: i, Scale: 4, Disp: disp}, dst, dst)
		})
}

// genBatchNorm emits the vector bodies of the train-mode BatchNorm loops
// (n a positive multiple of 8; the Go callers do the tails). The float32
// arithmetic is the Go loops' operation for operation (no FMA), so outputs
// are bit-identical; the float64 sums are kept in 4-lane partial sums.
func genBatchNorm() {
	// bnSumVec returns Σ x[i] and Σ (x[i]−mean)² in float64.
	TEXT("bnSumsVec", NOSPLIT, "func(x *float32, n int, mean float64, sq int) float64")
	Pragma("noescape")
	Doc("bnSumsVec returns Σ float64(x[i]) (sq = 0) or Σ (float64(x[i])−mean)² (sq ≠ 0) for i < n (n a positive multiple of 8).")
	{
		x := Load(Param("x"), GP64())
		n := Load(Param("n"), GP64())
		sq := Load(Param("sq"), GP64())
		m := YMM()
		VBROADCASTSD(NewParamAddr("mean", 16), m)
		a0, a1, t0, t1 := YMM(), YMM(), YMM(), YMM()
		VXORPD(a0, a0, a0)
		VXORPD(a1, a1, a1)
		i := GP64()
		XORQ(i, i)
		TESTQ(sq, sq)
		JNZ(LabelRef("bnsums_sq"))
		Label("bnsums_loop")
		VCVTPS2PD(Mem{Base: x, Index: i, Scale: 4}, t0)
		VCVTPS2PD(Mem{Base: x, Index: i, Scale: 4, Disp: 16}, t1)
		VADDPD(t0, a0, a0)
		VADDPD(t1, a1, a1)
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnsums_loop"))
		JMP(LabelRef("bnsums_done"))
		Label("bnsums_sq")
		VCVTPS2PD(Mem{Base: x, Index: i, Scale: 4}, t0)
		VCVTPS2PD(Mem{Base: x, Index: i, Scale: 4, Disp: 16}, t1)
		VSUBPD(m, t0, t0)
		VSUBPD(m, t1, t1)
		VFMADD231PD(t0, t0, a0)
		VFMADD231PD(t1, t1, a1)
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnsums_sq"))
		Label("bnsums_done")
		VADDPD(a1, a0, a0)
		hsumPD(a0)
		Store(a0.AsX(), ReturnIndex(0))
		VZEROUPPER()
		RET()
	}

	TEXT("bnBackwardSumsVec", NOSPLIT, "func(ds, xs *float32, n int, mean, invstd float32) (float64, float64)")
	Pragma("noescape")
	Doc("bnBackwardSumsVec returns Σ g and Σ g·float64((x−mean)·invstd) (g = float64(ds[i]), x̂ in float32) for i < n (n a positive multiple of 8).")
	{
		ds := Load(Param("ds"), GP64())
		xs := Load(Param("xs"), GP64())
		n := Load(Param("n"), GP64())
		mean, inv := YMM(), YMM()
		VBROADCASTSS(NewParamAddr("mean", 24), mean)
		VBROADCASTSS(NewParamAddr("invstd", 28), inv)
		a0, a1, b0, b1 := YMM(), YMM(), YMM(), YMM()
		for _, r := range []reg.VecVirtual{a0, a1, b0, b1} {
			VXORPD(r, r, r)
		}
		xh, g0, g1, h0 := YMM(), YMM(), YMM(), YMM()
		i := GP64()
		XORQ(i, i)
		Label("bnbs_loop")
		VMOVUPS(Mem{Base: xs, Index: i, Scale: 4}, xh)
		VSUBPS(mean, xh, xh)
		VMULPS(inv, xh, xh)
		VCVTPS2PD(Mem{Base: ds, Index: i, Scale: 4}, g0)
		VCVTPS2PD(Mem{Base: ds, Index: i, Scale: 4, Disp: 16}, g1)
		VADDPD(g0, a0, a0)
		VADDPD(g1, a1, a1)
		VCVTPS2PD(xh.AsX(), h0)
		VFMADD231PD(h0, g0, b0)
		VEXTRACTF128(U8(1), xh, xh.AsX())
		VCVTPS2PD(xh.AsX(), h0)
		VFMADD231PD(h0, g1, b1)
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnbs_loop"))
		VADDPD(a1, a0, a0)
		VADDPD(b1, b0, b0)
		hsumPD(a0)
		hsumPD(b0)
		Store(a0.AsX(), ReturnIndex(0))
		Store(b0.AsX(), ReturnIndex(1))
		VZEROUPPER()
		RET()
	}

	TEXT("bnTrainOutVec", NOSPLIT, "func(dst, src *float32, n int, mean, invstd, w, b float32, accumulate int)")
	Pragma("noescape")
	Doc("bnTrainOutVec writes (or adds, accumulate ≠ 0) ((src[i]−mean)·invstd)·w + b into dst for i < n (n a positive multiple of 8).")
	{
		dst := Load(Param("dst"), GP64())
		src := Load(Param("src"), GP64())
		n := Load(Param("n"), GP64())
		acc := Load(Param("accumulate"), GP64())
		mean, inv, wv, bv := YMM(), YMM(), YMM(), YMM()
		VBROADCASTSS(NewParamAddr("mean", 24), mean)
		VBROADCASTSS(NewParamAddr("invstd", 28), inv)
		VBROADCASTSS(NewParamAddr("w", 32), wv)
		VBROADCASTSS(NewParamAddr("b", 36), bv)
		v := YMM()
		i := GP64()
		XORQ(i, i)
		TESTQ(acc, acc)
		JNZ(LabelRef("bnout_acc"))
		Label("bnout_loop")
		VMOVUPS(Mem{Base: src, Index: i, Scale: 4}, v)
		VSUBPS(mean, v, v)
		VMULPS(inv, v, v)
		VMULPS(wv, v, v)
		VADDPS(bv, v, v)
		VMOVUPS(v, Mem{Base: dst, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnout_loop"))
		VZEROUPPER()
		RET()
		Label("bnout_acc")
		VMOVUPS(Mem{Base: src, Index: i, Scale: 4}, v)
		VSUBPS(mean, v, v)
		VMULPS(inv, v, v)
		VMULPS(wv, v, v)
		VADDPS(bv, v, v)
		VADDPS(Mem{Base: dst, Index: i, Scale: 4}, v, v)
		VMOVUPS(v, Mem{Base: dst, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bnout_acc"))
		VZEROUPPER()
		RET()
	}

	TEXT("bnBackwardDxVec", NOSPLIT, "func(dd, ds, xs *float32, n int, mean, invstd, k, mb, mw float32)")
	Pragma("noescape")
	Doc("bnBackwardDxVec adds k·((ds[i]−mb) − ((xs[i]−mean)·invstd)·mw) into dd[i] for i < n (n a positive multiple of 8).")
	{
		dd := Load(Param("dd"), GP64())
		ds := Load(Param("ds"), GP64())
		xs := Load(Param("xs"), GP64())
		n := Load(Param("n"), GP64())
		mean, inv, kv, mb, mw := YMM(), YMM(), YMM(), YMM(), YMM()
		VBROADCASTSS(NewParamAddr("mean", 32), mean)
		VBROADCASTSS(NewParamAddr("invstd", 36), inv)
		VBROADCASTSS(NewParamAddr("k", 40), kv)
		VBROADCASTSS(NewParamAddr("mb", 44), mb)
		VBROADCASTSS(NewParamAddr("mw", 48), mw)
		xh, u := YMM(), YMM()
		i := GP64()
		XORQ(i, i)
		Label("bndx_loop")
		VMOVUPS(Mem{Base: xs, Index: i, Scale: 4}, xh)
		VSUBPS(mean, xh, xh)
		VMULPS(inv, xh, xh)
		VMULPS(mw, xh, xh)
		VMOVUPS(Mem{Base: ds, Index: i, Scale: 4}, u)
		VSUBPS(mb, u, u)
		VSUBPS(xh, u, u)
		VMULPS(u, kv, u)
		VADDPS(Mem{Base: dd, Index: i, Scale: 4}, u, u)
		VMOVUPS(u, Mem{Base: dd, Index: i, Scale: 4})
		ADDQ(U8(8), i)
		CMPQ(i, n)
		JL(LabelRef("bndx_loop"))
		VZEROUPPER()
		RET()
	}
}

// hsumPD leaves the sum of the four float64 lanes of v in its lowest lane.
func hsumPD(v reg.VecVirtual) {
	t := YMM()
	VEXTRACTF128(U8(1), v, t.AsX())
	VADDPD(t.AsX(), v.AsX(), v.AsX())
	VPERMILPD(U8(1), v.AsX(), t.AsX())
	VADDSD(t.AsX(), v.AsX(), v.AsX())
}

// genDepthwiseS1WeightGrad emits the whole-plane weight gradient of a 3×3
// depthwise conv with stride 1 and padding 1 (W ≥ 8): nine vector
// accumulators, one per tap, over non-overlapping 8-column blocks; a
// ragged last block is the block ending at W−1 with the lanes already
// counted masked out of dOut.
func genDepthwiseS1WeightGrad() {
	name := "dwGradW3x3s1Plane"
	TEXT(name, NOSPLIT, "func(acc, in, dout *float32, H, W int, zero *float32)")
	Pragma("noescape")
	Doc(
		name+" adds one plane's 3×3 depthwise weight gradient (stride 1,",
		"padding 1, W ≥ 8) into acc[0..8]; zero points to at least W zeros:",
		"",
		"\tfor ky, kx < 3: acc[ky*3+kx] += Σ_{y,x} dout[y*W+x] · in[(y+ky−1)*W + x+kx−1] (inside the plane)",
		"",
		"Each tap is summed in float32 in 8 lanes, then the lanes are added.",
	)
	mask := GLOBL("dwLaneMask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i >= 8 {
			v = 0xFFFFFFFF
		}
		DATA(4*i, U32(v))
	}
	shr := NewDataAddr(Symbol{Name: "dwShiftRight", Static: true}, 0)
	shl := NewDataAddr(Symbol{Name: "dwShiftLeft", Static: true}, 0)
	accp := Load(Param("acc"), GP64())
	in := Load(Param("in"), GP64())
	dout := Load(Param("dout"), GP64())
	H := Load(Param("H"), GP64())
	W := Load(Param("W"), GP64())
	zero := Load(Param("zero"), GP64())
	rowBytes := GP64()
	MOVQ(W, rowBytes)
	SHLQ(U8(2), rowBytes)
	a := make([]reg.VecVirtual, 9)
	for i := range a {
		a[i] = YMM()
		VXORPS(a[i], a[i], a[i])
	}
	z, d, c, t := YMM(), YMM(), YMM(), YMM()
	VXORPS(z, z, z)
	r0, r1, r2 := GP64(), GP64(), GP64()
	rows := []reg.Register{r0, r1, r2}
	y, x, tmp, lastY, fullEnd := GP64(), GP64(), GP64(), GP64(), GP64()
	XORQ(y, y)
	MOVQ(in, r1)
	LEAQ(Mem{Base: H, Disp: -1}, lastY)
	MOVQ(W, fullEnd)
	ANDQ(I32(-8), fullEnd)

	idx := YMM()
	dp := GP64()
	MOVQ(dout, dp)
	// block: dOut vector in d, at column x; out-of-row neighbours built
	// as in the forward plane kernel.
	block := func(leftSpecial, rightSpecial bool) {
		for ky := 0; ky < 3; ky++ {
			r := rows[ky]
			VMOVUPS(Mem{Base: r, Index: x, Scale: 4}, c)
			VFMADD231PS(c, d, a[ky*3+1])
			if leftSpecial {
				VMOVUPS(shr, idx)
				VPERMPS(c, idx, t)
				VBLENDPS(U8(0x01), z, t, t)
				VFMADD231PS(t, d, a[ky*3])
			} else {
				VFMADD231PS(Mem{Base: r, Index: x, Scale: 4, Disp: -4}, d, a[ky*3])
			}
			if rightSpecial {
				VMOVUPS(shl, idx)
				VPERMPS(c, idx, t)
				VBLENDPS(U8(0x80), z, t, t)
				VFMADD231PS(t, d, a[ky*3+2])
			} else {
				VFMADD231PS(Mem{Base: r, Index: x, Scale: 4, Disp: 4}, d, a[ky*3+2])
			}
		}
	}

	Label(name + "_row")
	MOVQ(zero, r0)
	MOVQ(zero, r2)
	MOVQ(r1, tmp)
	SUBQ(rowBytes, tmp)
	TESTQ(y, y)
	CMOVQNE(tmp, r0)
	LEAQ(Mem{Base: r1, Index: rowBytes, Scale: 1}, tmp)
	CMPQ(y, lastY)
	CMOVQLT(tmp, r2)
	XORQ(x, x)
	VMOVUPS(Mem{Base: dp}, d)
	CMPQ(W, U8(8))
	JNE(LabelRef(name + "_wide"))
	block(true, true)
	JMP(LabelRef(name + "_next"))
	Label(name + "_wide")
	block(true, false)
	MOVQ(U64(8), x)
	Label(name + "_mid")
	LEAQ(Mem{Base: x, Disp: 8}, tmp)
	CMPQ(tmp, W)
	JGE(LabelRef(name + "_last"))
	VMOVUPS(Mem{Base: dp, Index: x, Scale: 4}, d)
	block(false, false)
	ADDQ(U8(8), x)
	JMP(LabelRef(name + "_mid"))
	Label(name + "_last")
	// overlap = x − (W−8) lanes already counted: mask them out of d
	LEAQ(Mem{Base: W, Disp: -8}, tmp)
	SUBQ(tmp, x) // x = overlap
	mp := GP64()
	LEAQ(mask, mp)
	NEGQ(x)
	LEAQ(Mem{Base: mp, Index: x, Scale: 4, Disp: 32}, mp)
	MOVQ(tmp, x)
	VMOVUPS(Mem{Base: dp, Index: x, Scale: 4}, d)
	VANDPS(Mem{Base: mp}, d, d)
	block(false, true)
	Label(name + "_next")
	ADDQ(rowBytes, dp)
	ADDQ(rowBytes, r1)
	INCQ(y)
	CMPQ(y, H)
	JL(LabelRef(name + "_row"))

	for i := 0; i < 9; i++ {
		v := a[i]
		VEXTRACTF128(U8(1), v, t.AsX())
		VADDPS(t.AsX(), v.AsX(), v.AsX())
		VMOVHLPS(v.AsX(), v.AsX(), t.AsX())
		VADDPS(t.AsX(), v.AsX(), v.AsX())
		VMOVSHDUP(v.AsX(), t.AsX())
		VADDSS(t.AsX(), v.AsX(), v.AsX())
		VADDSS(Mem{Base: accp, Disp: 4 * i}, v.AsX(), v.AsX())
		VMOVSS(v.AsX(), Mem{Base: accp, Disp: 4 * i})
	}
	VZEROUPPER()
	RET()
}
