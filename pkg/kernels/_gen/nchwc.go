package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// vecISA is the vector set a blocked kernel is generated for: AVX-512
// (one ZMM register per 16-channel block) or AVX2+FMA (two YMM halves).
type vecISA struct {
	suffix string // in the kernel names: Z or Y
	lanes  int    // registers per block
	vec    func() reg.VecVirtual
	zero   func(...Op) // zeroes a register: VPXORD, VXORPS
	needs  string
}

var (
	isaZ = vecISA{"Z", 1, ZMM, VPXORD, "AVX-512F"}
	isaY = vecISA{"Y", 2, YMM, VXORPS, "AVX2 and FMA"}
)

// width is the size of one vector register in bytes.
func (v vecISA) width() int { return 64 / v.lanes }

// blockRegisters allocates nb·np·lanes zeroed accumulators (acc[b][p·lanes
// + h]: block b, pixel p, half h) and nb·lanes weight registers.
func (v vecISA) blockRegisters(nb, np int) (acc [][]reg.VecVirtual, wv []reg.VecVirtual) {
	acc, wv = tileRegisters(nb, np*v.lanes, v.vec, v.zero)
	wv = wv[:min(nb*v.lanes, len(wv))]
	for len(wv) < nb*v.lanes {
		wv = append(wv, v.vec())
	}
	return acc, wv
}

// genPw emits pwKernel{Z,Y}{nb}x{np}, the pointwise (1×1) convolution
// tile on NCHWc activations (channel blocks of 16 floats): nb blocks of 16
// output channels at np consecutive pixels, nb·np·lanes accumulators. For
// each input channel it loads the nb weight blocks once and broadcasts the
// channel's value at each pixel once, so a step is nb·lanes loads, np
// broadcasts and nb·np·lanes FMAs.
func genPw(v vecISA, nb, np int) {
	name := fmt.Sprintf("pwKernel%s%dx%d", v.suffix, nb, np)
	TEXT(name, NOSPLIT, "func(kb int, w *float32, x *float32, xcs int, y *float32, ycs int, bias *float32, flags int, tiles int, pf *float32, pfn int)")
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
		"xcs and ycs are in elements; it needs "+v.needs+".",
		"",
		"With each block of 16 input channels it prefetches pfn ≥ 0 cache lines",
		"from pf on, into L2: the weights the next call will read, spread over",
		"this call's steps (prefetches do not fault, pf only needs to be valid",
		"when pfn > 0).",
	)
	kb := Load(Param("kb"), GP64())
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	tiles := Load(Param("tiles"), GP64())
	acc, wv := v.blockRegisters(nb, np)
	xv := []reg.VecVirtual{v.vec(), v.vec()}
	k, w, xp := GP64(), GP64(), GP64()
	xcs := Load(Param("xcs"), GP64())
	SHLQ(U8(2), xcs)
	pf := Load(Param("pf"), GP64())
	pfn := Load(Param("pfn"), GP64())
	Label(name + "_tile")
	MOVQ(kb, k)
	Load(Param("w"), w)
	MOVQ(x, xp)
	Label(name + "_block")
	for p := 0; p < np; p++ {
		PREFETCHT0(Mem{Base: xp, Index: xcs, Scale: 1, Disp: 64 * p})
	}
	prefetchLines(name+"_pf", pf, pfn)
	for j := 0; j < 16; j++ {
		for b := 0; b < nb; b++ {
			for h := 0; h < v.lanes; h++ {
				VMOVUPS(Mem{Base: w, Disp: (j*nb+b)*64 + h*v.width()}, wv[b*v.lanes+h])
			}
		}
		for p := 0; p < np; p++ {
			t := xv[p%2]
			VBROADCASTSS(Mem{Base: xp, Disp: p*64 + j*4}, t)
			blockFMAs(v, t, wv, acc, p)
		}
	}
	ADDQ(U32(16*nb*64), w)
	ADDQ(xcs, xp)
	DECQ(k)
	JNZ(LabelRef(name + "_block"))
	blockEpilogue(v, name, acc, wv, xv[0], y)
	ADDQ(U32(np*64), x)
	ADDQ(U32(np*64), y)
	tileLoopEnd(v, name, tiles, acc)
}

// prefetchLines emits a loop that prefetches n lines (none when n is 0)
// from p on into L2, advancing p.
func prefetchLines(label string, p, n reg.Register) {
	r := GP64()
	MOVQ(n, r)
	TESTQ(r, r)
	JZ(LabelRef(label + "_done"))
	Label(label)
	PREFETCHT1(Mem{Base: p})
	ADDQ(U8(64), p)
	DECQ(r)
	JNZ(LabelRef(label))
	Label(label + "_done")
}

// blockFMAs adds t times the weights wv (block b, half h at wv[b·lanes+h])
// to the accumulators of pixel p.
func blockFMAs(v vecISA, t reg.VecVirtual, wv []reg.VecVirtual, acc [][]reg.VecVirtual, p int) {
	for b := range acc {
		for h := 0; h < v.lanes; h++ {
			VFMADD231PS(t, wv[b*v.lanes+h], acc[b][p*v.lanes+h])
		}
	}
}

// tileLoopEnd counts down tiles, zeroes the accumulators and jumps back
// to name_tile, or returns.
func tileLoopEnd(v vecISA, name string, tiles reg.Register, acc [][]reg.VecVirtual) {
	DECQ(tiles)
	JZ(LabelRef(name + "_ret"))
	for b := range acc {
		for p := range acc[b] {
			v.zero(acc[b][p], acc[b][p], acc[b][p])
		}
	}
	JMP(LabelRef(name + "_tile"))
	Label(name + "_ret")
	VZEROUPPER()
	RET()
}

// blockEpilogue ends a kernel whose accumulators acc[b][i] hold output
// channel block b at pixel i/lanes, half i%lanes: + bias (16 floats per
// block), + y when flags&1, ReLU when flags&2, stored at y + b·ycs +
// i·width (ycs in elements, y a register holding the tile's address, left
// as it is). t (len(acc)·lanes registers) and zero are free vector
// registers.
func blockEpilogue(v vecISA, name string, acc [][]reg.VecVirtual, t []reg.VecVirtual, zero reg.VecVirtual, y reg.Register) {
	nb, nv, vw := len(acc), len(acc[0]), v.width()
	ycs := Load(Param("ycs"), GP64())
	SHLQ(U8(2), ycs)
	bias := Load(Param("bias"), GP64())
	flags := Load(Param("flags"), GP64())
	for b := 0; b < nb; b++ {
		for h := 0; h < v.lanes; h++ {
			tb := t[b*v.lanes+h]
			VMOVUPS(Mem{Base: bias, Disp: 64*b + h*vw}, tb)
			for i := h; i < nv; i += v.lanes {
				VADDPS(tb, acc[b][i], acc[b][i])
			}
		}
	}
	r := GP64()
	TESTQ(U32(1), flags)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(y, r)
	for b := 0; b < nb; b++ {
		for i := 0; i < nv; i++ {
			VADDPS(Mem{Base: r, Disp: vw * i}, acc[b][i], acc[b][i])
		}
		if b < nb-1 {
			ADDQ(ycs, r)
		}
	}
	Label(name + "_noacc")
	TESTQ(U32(2), flags)
	JZ(LabelRef(name + "_norelu"))
	v.zero(zero, zero, zero)
	for b := 0; b < nb; b++ {
		for i := 0; i < nv; i++ {
			// max(0, s) keeping NaN and −0 as the Go loop does
			VMAXPS(acc[b][i], zero, acc[b][i])
		}
	}
	Label(name + "_norelu")
	MOVQ(y, r)
	for b := 0; b < nb; b++ {
		for i := 0; i < nv; i++ {
			VMOVUPS(acc[b][i], Mem{Base: r, Disp: vw * i})
		}
		if b < nb-1 {
			ADDQ(ycs, r)
		}
	}
}

// pwTiles lists the pixel counts of the blocked kernels for nb output
// blocks: at most 26 accumulators of the 32 ZMM registers on AVX-512; on
// AVX2 one block (two YMM halves) at up to 6 pixels, 12 accumulators of
// the 16 YMM registers.
func pwTiles(v vecISA, nb int) []int {
	switch {
	case v.lanes == 2:
		return []int{6, 4, 2, 1}
	case nb == 3:
		return []int{8, 4, 2, 1}
	}
	return []int{12, 8, 4, 2, 1}
}

// genBlocked emits the NCHWc inference kernels: on AVX-512 the pointwise
// and stem kernels for 1 to 3 output blocks, on AVX2 for one.
func genBlocked() {
	for nb := 1; nb <= 3; nb++ {
		for _, np := range pwTiles(isaZ, nb) {
			genPw(isaZ, nb, np)
		}
	}
	for nb := 1; nb <= 3; nb++ {
		for _, np := range pwTiles(isaZ, nb) {
			genStem(isaZ, nb, np, 2)
		}
	}
	genDwRows(isaZ, 1)
	genDwRows(isaZ, 2)
	genPoolBlock(isaZ)
	genScaleBlock(isaZ)
	for _, np := range pwTiles(isaY, 1) {
		genPw(isaY, 1, np)
	}
	for _, np := range pwTiles(isaY, 1) {
		genStem(isaY, 1, np, 2)
	}
	genDwRows(isaY, 1)
	genDwRows(isaY, 2)
	genPoolBlock(isaY)
	genScaleBlock(isaY)
}

// genStem emits stemKernel{Z,Y}{nb}x{np}s{stride}: a dense convolution on
// NCHW input (the stem: 3 channels) into nb blocks of 16 output channels
// at np consecutive output pixels of one row, NCHWc. The input is a
// zero-padded copy, so every tap is inside it: tap t of output pixel p
// reads x at byte offset offs[t] + p·stride·4. Weights are packed
// [tap][nb][16]. Each output is one FMA chain in tap order from zero, then
// the epilogue of the pointwise kernels: the sums of the im2col GEMM with
// K = taps ≤ 256 bit for bit.
func genStem(v vecISA, nb, np, stride int) {
	name := fmt.Sprintf("stemKernel%s%dx%ds%d", v.suffix, nb, np, stride)
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
		"offs are in bytes; it needs "+v.needs+".",
	)
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	tiles := Load(Param("tiles"), GP64())
	acc, wv := v.blockRegisters(nb, np)
	xv := []reg.VecVirtual{v.vec(), v.vec()}
	taps, offs, w, o := GP64(), GP64(), GP64(), GP64()
	Label(name + "_tile")
	Load(Param("taps"), taps)
	Load(Param("offs"), offs)
	Load(Param("w"), w)
	Label(name + "_tap")
	MOVQ(Mem{Base: offs}, o)
	for b := 0; b < nb; b++ {
		for h := 0; h < v.lanes; h++ {
			VMOVUPS(Mem{Base: w, Disp: b*64 + h*v.width()}, wv[b*v.lanes+h])
		}
	}
	for p := 0; p < np; p++ {
		t := xv[p%2]
		VBROADCASTSS(Mem{Base: x, Index: o, Scale: 1, Disp: p * stride * 4}, t)
		blockFMAs(v, t, wv, acc, p)
	}
	ADDQ(U8(8), offs)
	ADDQ(U32(nb*64), w)
	DECQ(taps)
	JNZ(LabelRef(name + "_tap"))
	blockEpilogue(v, name, acc, wv, xv[0], y)
	ADDQ(U32(np*stride*4), x)
	ADDQ(U32(np*64), y)
	tileLoopEnd(v, name, tiles, acc)
}
