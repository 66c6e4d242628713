package kernels

import "sync"

// dwZeros stands in for input rows above and below the image (padding).
var dwZeros [2048]float32

// dwParallelMin is the multiply-add count of one depthwise image from which
// its channels are split over goroutines: at batch 1 and 2 threads, s0's
// stage-1 to stage-3 stride-1 depthwise convs (0.45M-1.35M MACs, 20-150 us
// each). s0 deploy batch 1, 2 threads, 8 interleaved runs: median 4.09 ms
// at a 1M threshold, 3.91 ms at 256K (and the same at 64K). Splitting into
// bands of rows instead, to line up with the pointwise convs' column split,
// measured slower (3.77 vs 3.56 ms in quiet rounds).
var dwParallelMin = 256 << 10

// dwRowGeneric is the row contract of the depthwise row kernels in plain
// Go: out[x] = act(bias + Σ_{ky,kx} w[ky*3+kx]·rows[ky][x·stride+kx−1]),
// padding 1, for x < len(out).
func dwRowGeneric(out []float32, rows [3][]float32, w []float32, inW, stride int, bias float32, relu bool) {
	for x := range out {
		s := bias
		for ky := 0; ky < 3; ky++ {
			for kx := 0; kx < 3; kx++ {
				if ix := x*stride + kx - 1; ix >= 0 && ix < inW {
					s += w[ky*3+kx] * rows[ky][ix]
				}
			}
		}
		if relu && s < 0 {
			s = 0
		}
		out[x] = s
	}
}

// biasAt points at bias[c], or at a zero when there is no bias.
func biasAt(bias []float32, c int) *float32 {
	if bias == nil {
		return &zeroBias[0]
	}
	return &bias[c]
}

// dw1x1 reports whether p is a 1×1 depthwise conv without padding (the
// scale branch of MobileOne's depthwise blocks): a per-channel scale,
// subsampled for stride > 1.
func dw1x1(p ConvParams) bool {
	return p.depthwise() && p.KH == 1 && p.KW == 1 && p.PadH == 0 && p.PadW == 0
}

// depthwise1x1 runs channels [c0,c1) of one image of a dw1x1 conv.
func depthwise1x1(out, in, w, bias []float32, p ConvParams, act Activation, c0, c1 int) {
	oh, ow := p.OutH(), p.OutW()
	for c := c0; c < c1; c++ {
		plane := in[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		dst := out[c*oh*ow : (c+1)*oh*ow]
		wv := w[c]
		var b float32
		if bias != nil {
			b = bias[c]
		}
		for y := 0; y < oh; y++ {
			src := plane[y*p.StrideH*p.InW:]
			d := dst[y*ow : (y+1)*ow]
			if p.StrideW == 1 {
				src = src[:len(d)]
				for x, v := range src {
					d[x] = v*wv + b
				}
			} else {
				for x := range d {
					d[x] = src[x*p.StrideW]*wv + b
				}
			}
			if act == ActReLU {
				for x, v := range d {
					if v < 0 {
						d[x] = 0
					}
				}
			}
		}
	}
}

// dw3x3Fast reports whether the assembly depthwise kernels handle p.
func dw3x3Fast(p ConvParams) bool {
	return useAVX2 && p.depthwise() && p.KH == 3 && p.KW == 3 && p.PadH == 1 && p.PadW == 1 &&
		p.StrideH == p.StrideW && (p.StrideH == 1 || p.StrideH == 2) && p.InW <= len(dwZeros)
}

// Minimum input widths of the row kernels; narrower rows are staged in a
// zero-extended buffer of this width (the zeros are the right padding).
const (
	dwPlaneMinW = 9 // dwConv3x3s1Plane
	dwMinW1     = 10
	dwMinW2     = 18
)

// depthwise3x3 runs channels [c0,c1) of one image through the row kernels,
// with the bias and activation fused into the store.
func depthwise3x3(out, in, w, bias []float32, p ConvParams, act Activation, c0, c1 int) {
	oh, ow := p.OutH(), p.OutW()
	H, W, s := p.InH, p.InW, p.StrideH
	relu := 0
	if act == ActReLU {
		relu = 1
	}
	minW := dwMinW1
	if s == 2 {
		minW = dwMinW2
	}
	if s == 1 && W >= dwPlaneMinW {
		// whole planes, borders vectorised
		plane := dwConv3x3s1Plane
		if useAVX512 {
			// the same sums, 16 at a time with masked borders; narrower
			// planes keep the row kernels' path, whose border sums
			// differ in the last bit
			plane = dwConv3x3s1PlaneZ
		}
		for c := c0; c < c1; c++ {
			bp := biasAt(bias, c)
			dst := out[c*H*W : (c+1)*H*W]
			plane(&dst[0], &in[c*H*W : (c+1)*H*W][0], &w[c*9 : c*9+9][0], H, W, bp, relu, &dwZeros[0])
		}
		return
	}
	if s == 2 && useAVX512 && W >= 2 {
		// Whole planes, 16 outputs at a time, with the sums of the AVX2
		// path for each width: the row kernel (W ≥ 18) makes the first
		// output and, for odd W, the last one a single chain; the
		// stride-1 plane kernel (narrow planes) none; the zero-padded
		// row kernel (W < 9) the first. The kernel needs W ≥ 2: a plane
		// one pixel wide takes the zero-padded row kernel below.
		borders := 3
		switch {
		case W < dwPlaneMinW:
			borders = 1
		case W < minW:
			borders = 0
		}
		for c := c0; c < c1; c++ {
			bp := biasAt(bias, c)
			dwConv3x3s2PlaneZ(&out[c*oh*ow : (c+1)*oh*ow][0], &in[c*H*W : (c+1)*H*W][0], &w[c*9 : c*9+9][0], H, W, bp, relu, &dwZeros[0], borders)
		}
		return
	}
	if s == 2 && W < minW && W >= dwPlaneMinW {
		// Narrow stride-2 planes (14→7): the stride-1 plane kernel, then
		// every other row and column (the same taps, so the same sums).
		buf := buffers.Get(H * W)
		full := *buf
		for c := c0; c < c1; c++ {
			bp := biasAt(bias, c)
			dwConv3x3s1Plane(&full[0], &in[c*H*W : (c+1)*H*W][0], &w[c*9 : c*9+9][0], H, W, bp, relu, &dwZeros[0])
			dst := out[c*oh*ow : (c+1)*oh*ow]
			for y := 0; y < oh; y++ {
				src := full[2*y*W : 2*y*W+W]
				d := dst[y*ow : (y+1)*ow]
				for x := range d {
					d[x] = src[2*x]
				}
			}
		}
		buffers.Put(buf)
		return
	}
	if W >= minW {
		// Common case: rows are passed in place; only rows above and
		// below the image are replaced by zeros. y·s ≤ H−1 always holds.
		zp := &dwZeros[0]
		for c := c0; c < c1; c++ {
			plane := in[c*H*W : (c+1)*H*W]
			wp := &w[c*9 : c*9+9][0]
			bp := biasAt(bias, c)
			dst := out[c*oh*ow : (c+1)*oh*ow]
			for y := 0; y < oh; y++ {
				iy := y * s
				r0, r1, r2 := zp, &plane[iy*W], zp
				if iy > 0 {
					r0 = &plane[(iy-1)*W]
				}
				if iy+1 < H {
					r2 = &plane[(iy+1)*W]
				}
				o := &dst[y*ow : (y+1)*ow][0]
				if s == 1 {
					dwConv3x3s1Row(o, r0, r1, r2, wp, W, bp, relu)
				} else {
					dwConv3x3s2Row(o, r0, r1, r2, wp, W, ow, bp, relu)
				}
			}
		}
		return
	}
	// Narrow planes: each plane is copied once into a zero-padded buffer
	// of row stride minW (a zero row above and below, zeros right of the
	// W columns: exactly the padding), whose rows the row kernels read in
	// place.
	if H == 1 && W == 1 {
		// a 1×1 plane: only the centre tap sees the input
		for c := c0; c < c1; c++ {
			v := in[c] * w[c*9+4]
			if bias != nil {
				v += bias[c]
			}
			if relu != 0 && v < 0 {
				v = 0
			}
			out[c] = v
		}
		return
	}
	padBuf := buffers.Get((H + 2) * minW)
	pad := *padBuf
	clear(pad)
	var tmpOut [dwMinW2]float32
	for c := c0; c < c1; c++ {
		plane := in[c*H*W : (c+1)*H*W]
		for y := 0; y < H; y++ {
			// rows are short: a loop beats a memmove call
			d, sr := pad[(y+1)*minW:(y+1)*minW+W], plane[y*W:(y+1)*W]
			for x, v := range sr {
				d[x] = v
			}
		}
		wp := &w[c*9 : c*9+9][0]
		bp := biasAt(bias, c)
		dst := out[c*oh*ow : (c+1)*oh*ow]
		for y := 0; y < oh; y++ {
			r := y * s * minW
			r0, r1, r2 := &pad[r], &pad[r+minW], &pad[r+2*minW]
			if s == 1 {
				dwConv3x3s1Row(&tmpOut[0], r0, r1, r2, wp, minW, bp, relu)
			} else {
				dwConv3x3s2Row(&tmpOut[0], r0, r1, r2, wp, minW, (minW-1)/2+1, bp, relu)
			}
			d := dst[y*ow : (y+1)*ow]
			for x := range d {
				d[x] = tmpOut[x]
			}
		}
	}
	buffers.Put(padBuf)
}

// convJob is one Conv2D call on the fast kernels, split over the batch or,
// for a single big depthwise image, over channels.
type convJob struct {
	out, in, w, bias []float32
	pa               []*packedA // per group, or nil
	p                ConvParams
	act              Activation
	parts            int
	byChannel        bool
}

func (j *convJob) runPart(part int) {
	p := j.p
	if j.byChannel {
		lo, hi := part*p.InC/j.parts, (part+1)*p.InC/j.parts
		depthwise3x3(j.out, j.in, j.w, j.bias, p, j.act, lo, hi)
		return
	}
	inSz, outSz := p.InC*p.InH*p.InW, p.OutC*p.OutH()*p.OutW()
	lo, hi := part*p.N/j.parts, (part+1)*p.N/j.parts
	for n := lo; n < hi; n++ {
		convImageFast(j.out[n*outSz:(n+1)*outSz], j.in[n*inSz:(n+1)*inSz], j.w, j.bias, j.pa, p, j.act, j.parts == 1)
	}
}

// convFastOK reports whether convImageFast handles p.
func convFastOK(p ConvParams) bool {
	if !useAVX2 {
		return false
	}
	return dw3x3Fast(p) || dw1x1(p) || p.Groups == 1
}

// conv2DFast is Conv2D on the fast kernels (convFastOK(p) must hold). pa
// holds pre-packed weights per group, or is nil.
func conv2DFast(out, in, w, bias []float32, pa []*packedA, p ConvParams, act Activation) {
	if pwBatched(p) {
		var pk *packedA
		if pa != nil {
			pk = pa[0]
		}
		pwForwardBatched(out, in, w, bias, pk, p, act)
		return
	}
	var scratch *scratchPackedA
	if pa == nil && p.N > 1 && p.Groups == 1 && !dw3x3Fast(p) {
		// pack the weights once for the whole batch
		k := p.InC * p.KH * p.KW
		scratch = getScratchPackedA(w, k, false, p.OutC, k)
		pa = scratch.grp[:]
	}
	j := convJobPool.Get().(*convJob)
	*j = convJob{out: out, in: in, w: w, bias: bias, pa: pa, p: p, act: act, parts: 1}
	t := Threads()
	switch {
	case t > 1 && p.N > 1:
		j.parts = min(t, p.N)
		runParallel(j, j.parts)
	case t > 1 && dw3x3Fast(p) && p.MACs() >= dwParallelMin && p.InC >= 2*t:
		j.parts, j.byChannel = t, true
		runParallel(j, j.parts)
	default:
		j.runPart(0)
	}
	*j = convJob{}
	convJobPool.Put(j)
	if scratch != nil {
		putScratchPackedA(scratch)
	}
}

var convJobPool = sync.Pool{New: func() any { return new(convJob) }}

// convImageFast convolves one image: depthwise 3×3 with the row kernels,
// pointwise as one fused GEMM, other dense convs as im2col plus a fused GEMM.
func convImageFast(out, in, w, bias []float32, pa []*packedA, p ConvParams, act Activation, parallel bool) {
	ohw := p.OutH() * p.OutW()
	if dw3x3Fast(p) {
		depthwise3x3(out, in, w, bias, p, act, 0, p.InC)
		return
	}
	if dw1x1(p) {
		depthwise1x1(out, in, w, bias, p, act, 0, p.InC)
		return
	}
	var pk *packedA
	if pa != nil {
		pk = pa[0]
	}
	if p.pointwise() {
		gemmBiasAct(out, w, pk, in, p.OutC, ohw, p.InC, bias, act, parallel)
		return
	}
	convIm2col(out, in, w, pk, bias, p, act, parallel)
}

// im2colBlockFloats is the size of one block of im2col columns: a band of
// output rows whose columns stay in L2 while the GEMM reads them.
const im2colBlockFloats = 24 << 10

// im2colTask is a dense non-pointwise conv of one image as bands of output
// rows: each band is laid out by im2colRows and multiplied at once, so the
// columns never leave the cache, and bands run in parallel.
type im2colTask struct {
	out, in, bias []float32
	pa            *packedA
	p             ConvParams
	act           Activation
	rows, bands   int // output rows per band, number of bands
	parts         int
}

func (t *im2colTask) runPart(part int) {
	p := t.p
	oh, ow := p.OutH(), p.OutW()
	k := p.InC * p.KH * p.KW
	col := buffers.Get(k * t.rows * ow)
	for b := part * t.bands / t.parts; b < (part+1)*t.bands/t.parts; b++ {
		y0 := b * t.rows
		y1 := min(oh, y0+t.rows)
		n := (y1 - y0) * ow
		c := (*col)[:k*n]
		im2colRows(c, t.in, p.InC, p, y0, y1)
		gemmBiasActLDC(t.out[y0*ow:], oh*ow, nil, t.pa, c, p.OutC, n, k, t.bias, t.act, false)
	}
	buffers.Put(col)
}

var im2colTaskPool = sync.Pool{New: func() any { return new(im2colTask) }}

// convIm2col computes one image of a dense conv through im2col bands and
// the fused GEMM; pk is the packed weight or nil.
func convIm2col(out, in, w []float32, pk *packedA, bias []float32, p ConvParams, act Activation, parallel bool) {
	oh, ow := p.OutH(), p.OutW()
	k := p.InC * p.KH * p.KW
	var scratch *scratchPackedA
	if pk == nil {
		scratch = getScratchPackedA(w, k, false, p.OutC, k)
		pk = &scratch.pa
	}
	rows := max(1, min(oh, im2colBlockFloats/max(1, k*ow)))
	t := im2colTaskPool.Get().(*im2colTask)
	*t = im2colTask{out: out, in: in, bias: bias, pa: pk, p: p, act: act, rows: rows, bands: (oh + rows - 1) / rows, parts: 1}
	if th := Threads(); parallel && th > 1 && t.bands > 1 && p.OutC*oh*ow*k >= gemmParallelMin {
		t.parts = min(th, t.bands)
	}
	runParallel(t, t.parts)
	*t = im2colTask{}
	im2colTaskPool.Put(t)
	if scratch != nil {
		putScratchPackedA(scratch)
	}
}

// PackedConv is a convolution whose weights were re-laid out once for the
// fast kernels (the GEMM micro-panels of go-kernels.md §8.4), as an
// inference engine does at load time. Forward gives the same result as
// Conv2D with the weights and bias it was built from.
type PackedConv struct {
	p    ConvParams
	w    []float32
	bias []float32
	pa   []*packedA // nil when the conv does not go through the GEMM
}

// NewPackedConv snapshots w (p.WeightSize() values) and bias (p.OutC values,
// or nil) for repeated Forward calls with parameters p. Later changes to w
// or bias are not seen: build a new PackedConv after a weight update.
func NewPackedConv(w, bias []float32, p ConvParams) *PackedConv {
	p.checkGeometry()
	if len(w) < p.WeightSize() {
		panic("kernels: conv weight too short")
	}
	return newPackedConv(w, bias, p)
}

func newPackedConv(w, bias []float32, p ConvParams) *PackedConv {
	c := &PackedConv{p: p, w: append([]float32(nil), w[:p.WeightSize()]...)}
	if bias != nil {
		if len(bias) < p.OutC {
			panic("kernels: conv bias too short")
		}
		c.bias = append([]float32(nil), bias[:p.OutC]...)
	}
	if useAVX2 && p.Groups == 1 {
		k := p.InC * p.KH * p.KW
		c.pa = []*packedA{newPackedA(c.w, k, false, p.OutC, k)}
	}
	return c
}

// Params returns the convolution parameters c was built for.
func (c *PackedConv) Params() ConvParams { return c.p }

// WithBatch returns a PackedConv for batch size n that shares c's packed
// weights.
func (c *PackedConv) WithBatch(n int) *PackedConv {
	d := *c
	d.p.N = n
	return &d
}

// Forward computes out = act(conv(in, w) + bias) for the batch of
// c.Params(), like Conv2D.
func (c *PackedConv) Forward(out, in []float32, act Activation) {
	p := c.checkSizes(out, in)
	if convFastOK(p) {
		conv2DFast(out, in, c.w, c.bias, c.pa, p, act)
		return
	}
	Conv2D(out, in, c.w, c.bias, p, act)
}

// checkSizes panics when out or in is too short for c and returns c's
// parameters.
func (c *PackedConv) checkSizes(out, in []float32) ConvParams {
	if len(in) < c.p.InSize() || len(out) < c.p.OutSize() {
		panic("kernels: conv input or output too short")
	}
	return c.p
}

// ForwardSerial is Forward on the calling goroutine only (no split over
// Threads()), with the same result bit for bit: for callers that run
// several images side by side on their own goroutines.
func (c *PackedConv) ForwardSerial(out, in []float32, act Activation) {
	p := c.checkSizes(out, in)
	inSz, outSz := p.InC*p.InH*p.InW, p.OutC*p.OutH()*p.OutW()
	fast := convFastOK(p)
	for n := 0; n < p.N; n++ {
		o, i := out[n*outSz:(n+1)*outSz], in[n*inSz:(n+1)*inSz]
		if fast {
			convImageFast(o, i, c.w, c.bias, c.pa, p, act, false)
		} else {
			conv2dImage(o, i, c.w, c.bias, p, act, true)
		}
	}
}

// Batched pointwise convolutions: when the planes are small, the GEMM of
// one image has only a few columns (edge tiles, a GEMV at 1×1), so the
// images are laid side by side instead: B(C × N·hw) holds channel c of
// image n in columns [n·hw, (n+1)·hw), and one GEMM covers the batch.

// pwBatchMaxHW is the largest plane (H·W) for which pointwise convs run as
// one GEMM over the batch.
const pwBatchMaxHW = 63

// pwBatched reports whether the pointwise conv p runs batched.
func pwBatched(p ConvParams) bool {
	return p.N > 1 && p.Groups == 1 && p.pointwise() && p.OutH()*p.OutW() <= pwBatchMaxHW
}

// gatherBatch writes dst[c·(n·hw) + i·hw + j] = src[(i·channels + c)·hw + j]
// (NCHW → C × N·HW).
func gatherBatch(dst, src []float32, n, channels, hw int) {
	runSplit(splitJob{kind: splitGather, a: dst, b: src, n: n, ch: channels, hw: hw, units: channels}, elemChunkMin/max(1, n*hw))
}

// scatterBatch is the inverse of gatherBatch (C × N·HW → NCHW).
func scatterBatch(dst, src []float32, n, channels, hw int) {
	runSplit(splitJob{kind: splitScatter, a: dst, b: src, n: n, ch: channels, hw: hw, units: channels}, elemChunkMin/max(1, n*hw))
}

// pwForwardBatched is a batched pointwise Conv2D (pwBatched(p)); pk is the
// packed weight or nil.
func pwForwardBatched(out, in, w, bias []float32, pk *packedA, p ConvParams, act Activation) {
	hw := p.OutH() * p.OutW()
	cols := p.N * hw
	b := buffers.Get(p.InC * cols)
	c := buffers.Get(p.OutC * cols)
	gatherBatch(*b, in, p.N, p.InC, hw)
	gemmBiasAct(*c, w, pk, *b, p.OutC, cols, p.InC, bias, act, true)
	scatterBatch(out, *c, p.N, p.OutC, hw)
	buffers.Put(b)
	buffers.Put(c)
}
