package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// vrowDoc is the documentation of the vertical kernels; form is the sum
// written out.
func vrowDoc(lead, form string) {
	Doc(
		lead+" (for the NC variant too, whose sums the caller",
		"has proved to lie in [0, 256<<22), where clip8 is the plain shift) for",
		"n bytes, n a positive multiple of 32, 32 bytes per step:",
		"",
		"\tfor i < n: o[i] = clip8(half + "+form+")",
		"",
		"in int32 lanes (VPMOVZXBD, VPMULLD, VPADDD, VPSRAD 22), clip8's clamp",
		"to 0..255 being VPACKSSDW (exact on the shifted sums, which lie in",
		"[-512, 512)) and VPACKUSWB.",
	)
}

// genVRow generates vrow<t>AVX2, the vertical pass over one output row
// for t input rows stride bytes apart, weights in registers.
func genVRow(c consts, t int) {
	name := fmt.Sprintf("vrow%dAVX2", t)
	TEXT(name, NOSPLIT, "func(o, in *byte, stride int, k *int32, n int)")
	Pragma("noescape")
	form := ""
	for j := 0; j < t; j++ {
		if j > 0 {
			form += " + "
		}
		form += fmt.Sprintf("int32(in[%d*stride+i])*k[%d]", j, j)
	}
	vrowDoc(fmt.Sprintf("%s is vrow%d", name, t), form)
	o := Load(Param("o"), GP64())
	in := Load(Param("in"), GP64())
	stride := Load(Param("stride"), GP64())
	k := Load(Param("k"), GP64())
	n := Load(Param("n"), GP64())
	rows := make([]reg.GPVirtual, t)
	w := make([]reg.VecVirtual, t)
	for j := range rows {
		rows[j] = GP64()
		if j == 0 {
			MOVQ(in, rows[j])
		} else {
			LEAQ(Mem{Base: rows[j-1], Index: stride, Scale: 1}, rows[j])
		}
		w[j] = YMM()
		VPBROADCASTD(Mem{Base: k, Disp: 4 * j}, w[j])
	}
	half := YMM()
	VMOVDQU(c.half, half)
	i := GP64()
	XORQ(i, i)

	Label(name + "_loop")
	var acc [4]reg.VecVirtual
	for q := range acc {
		acc[q] = YMM()
		for j := range rows {
			x := YMM()
			VPMOVZXBD(Mem{Base: rows[j], Index: i, Scale: 1, Disp: 8 * q}, x)
			VPMULLD(w[j], x, x)
			if j == 0 {
				VPADDD(half, x, acc[q])
			} else {
				VPADDD(x, acc[q], acc[q])
			}
		}
	}
	storeClipped32(c, acc, Mem{Base: o, Index: i, Scale: 1})
	ADDQ(U8(32), i)
	CMPQ(i, n)
	JB(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// genVRowN generates vrowNAVX2, the vertical pass for any number t of
// input rows (used for t > maxVTaps), looping over the rows.
func genVRowN(c consts) {
	const name = "vrowNAVX2"
	TEXT(name, NOSPLIT, "func(o, in *byte, stride int, k *int32, t, n int)")
	Pragma("noescape")
	vrowDoc(name+" is the vertical pass for any t ≥ 1 rows", "Σ_{j<t} int32(in[j*stride+i])*k[j]")
	o := Load(Param("o"), GP64())
	in := Load(Param("in"), GP64())
	stride := Load(Param("stride"), GP64())
	k := Load(Param("k"), GP64())
	t := Load(Param("t"), GP64())
	n := Load(Param("n"), GP64())
	i := GP64()
	XORQ(i, i)

	Label(name + "_loop")
	var acc [4]reg.VecVirtual
	for q := range acc {
		acc[q] = YMM()
		VMOVDQU(c.half, acc[q])
	}
	p, kp, j := GP64(), GP64(), GP64()
	LEAQ(Mem{Base: in, Index: i, Scale: 1}, p)
	MOVQ(k, kp)
	MOVQ(t, j)
	Label(name + "_rows")
	w := YMM()
	VPBROADCASTD(Mem{Base: kp}, w)
	for q := range acc {
		x := YMM()
		VPMOVZXBD(Mem{Base: p, Disp: 8 * q}, x)
		VPMULLD(w, x, x)
		VPADDD(x, acc[q], acc[q])
	}
	ADDQ(stride, p)
	ADDQ(U8(4), kp)
	DECQ(j)
	JNZ(LabelRef(name + "_rows"))

	storeClipped32(c, acc, Mem{Base: o, Index: i, Scale: 1})
	ADDQ(U8(32), i)
	CMPQ(i, n)
	JB(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// storeClipped32 shifts the sums of 32 consecutive samples (acc[q] holds
// samples 8q..8q+7), clamps them to bytes and stores them at dst.
func storeClipped32(c consts, acc [4]reg.VecVirtual, dst Mem) {
	for q := range acc {
		VPSRAD(U8(precisionBits), acc[q], acc[q])
	}
	// The packs work per 128-bit lane: their dwords hold samples 0-3,
	// 8-11, 16-19, 24-27 | 4-7, 12-15, 20-23, 28-31, which VPERMD puts
	// back in order.
	VPACKSSDW(acc[1], acc[0], acc[0])
	VPACKSSDW(acc[3], acc[2], acc[2])
	VPACKUSWB(acc[2], acc[0], acc[0])
	perm := YMM()
	VMOVDQU(c.permute, perm)
	VPERMD(acc[0], perm, acc[0])
	VMOVDQU(acc[0], dst)
}
