package kernels

import (
	"fmt"
	"sync"
)

// Blocked (NCHWc) activations: channel c of pixel p (p = y·W + x) of one
// image is at ((c/BlockC)·H·W + p)·BlockC + c%BlockC. A pointwise conv then
// loads 16 output channels' weights as one vector and broadcasts one input
// value per pixel, so the vectors always run over whole channel blocks and
// no tile is wasted on a ragged pixel count (a 14×14 plane is 196 = 6·32 +
// 4 columns of the NCHW GEMM, a 7×7 one 49 = 3·16 + 1); a depthwise conv
// computes 16 channels of a pixel per vector. The blocked kernels give the
// sums of the NCHW ones bit for bit on AVX-512 and AVX2 (TestBlockedMatchesNCHW):
// the pointwise and stem convs are one FMA chain per 256 input taps as in
// the GEMM, the depthwise convs the two chains of the plane kernels.
const BlockC = 16

// BlockedFast reports whether the blocked kernels run as assembly on this
// machine (AVX-512, or AVX2 and FMA). Elsewhere they run as their plain-Go
// twins, correct but slower than the NCHW kernels: callers choose the
// layout by it.
func BlockedFast() bool { return useAVX2 }

// blocked kinds
const (
	blockedPW   = iota // 1×1, stride 1, no padding, groups 1
	blockedDW          // 3×3 depthwise, stride 1 or 2, padding 1
	blockedStem        // dense KH×KW, stride 2, NCHW input (few channels)
)

// blockedKind returns the blocked kernel that computes p, or false.
func blockedKind(p ConvParams) (int, bool) {
	if p.OutH() < 1 || p.OutW() < 1 {
		return 0, false
	}
	if p.Groups == 1 && p.pointwise() && p.InC%BlockC == 0 && (p.OutC%BlockC == 0 || p.InH*p.InW == 1) {
		// on a 1×1 plane (the classifier head) any OutC: blocked is NCHW there
		return blockedPW, true
	}
	if p.OutC%BlockC != 0 {
		return 0, false
	}
	switch {
	case p.depthwise() && p.KH == 3 && p.KW == 3 && p.PadH == 1 && p.PadW == 1 &&
		p.StrideH == p.StrideW && (p.StrideH == 1 || p.StrideH == 2):
		return blockedDW, true
	case p.Groups == 1 && p.StrideH == 2 && p.StrideW == 2 && p.InC*p.KH*p.KW <= gemmKC &&
		p.PadH < p.KH && p.PadW < p.KW:
		return blockedStem, true
	}
	return 0, false
}

// BlockedReadsNCHW reports whether the BlockedConv for p (BlockedSupported)
// takes NCHW input, as the stem does; the others take blocked input.
func BlockedReadsNCHW(p ConvParams) bool {
	kind, ok := blockedKind(p)
	return ok && kind == blockedStem
}

// BlockedSupported reports whether a BlockedConv can compute p: a
// pointwise conv or a 3×3 depthwise conv (stride 1 or 2, padding 1) on
// blocked input, or a stride-2 dense conv with at most 256 taps per output
// (the stem) on NCHW input; blocked output, OutC a multiple of BlockC
// except for a pointwise conv on a 1×1 plane (a fully connected layer,
// where the blocked layout is the NCHW one).
func BlockedSupported(p ConvParams) bool {
	_, ok := blockedKind(p)
	return ok
}

// BlockedConv is a convolution on blocked activations with its weights
// laid out once for the blocked kernels.
type BlockedConv struct {
	p    ConvParams
	kind int
	w    []float32 // packed: packBlockedDense (pointwise, stem) or packDW
	bias []float32 // OutC values (zeros when the conv has none), padded to whole blocks
	offs []int     // stem: the byte offset of each tap in the padded input (stemOffsets)
	// groups are the output block counts the pointwise and stem kernels
	// take at once (blockGroups), the packing of w
	groups []int
}

// NewBlockedConv snapshots w and bias (nil for none) for p, which must
// satisfy BlockedSupported.
func NewBlockedConv(w, bias []float32, p ConvParams) *BlockedConv {
	p.checkGeometry()
	kind, ok := blockedKind(p)
	if !ok {
		panic(fmt.Sprintf("kernels: no blocked kernel for %+v", p))
	}
	if len(w) < p.WeightSize() || bias != nil && len(bias) < p.OutC {
		panic("kernels: conv weight or bias too short")
	}
	nblk := (p.OutC + BlockC - 1) / BlockC
	c := &BlockedConv{p: p, kind: kind, bias: make([]float32, nblk*BlockC), groups: blockGroups(nblk, useAVX512)}
	if bias != nil {
		copy(c.bias, bias[:p.OutC])
	}
	switch kind {
	case blockedPW:
		if p.OutC%BlockC != 0 {
			// the last block's missing channels have zero weights
			wp := make([]float32, nblk*BlockC*p.InC)
			copy(wp, w[:p.OutC*p.InC])
			w = wp
		}
		c.w = packBlockedDense(w, c.groups, p.InC)
	case blockedDW:
		c.w = packDW(w, p.OutC)
	case blockedStem:
		c.w = packBlockedDense(w, c.groups, p.InC*p.KH*p.KW)
		c.offs = c.stemOffsets()
	}
	return c
}

// Params returns the convolution parameters c was built for.
func (c *BlockedConv) Params() ConvParams { return c.p }

// blockGroups splits nblk output blocks into the groups the kernels take
// at once: on AVX-512 (z) twos, and a last three (or a one) when nblk is
// odd; elsewhere ones (the AVX2 kernels' registers hold one block).
func blockGroups(nblk int, z bool) []int {
	var g []int
	for nblk > 0 {
		switch {
		case !z:
			g = append(g, 1)
			nblk--
		case nblk == 3 || nblk == 1:
			g = append(g, nblk)
			nblk = 0
		default:
			g = append(g, 2)
			nblk -= 2
		}
	}
	return g
}

// packBlockedDense lays out an OutC × k weight matrix for the pointwise and
// stem kernels: group by group (groups of blocks, blockGroups), [tap][block
// of the group][16 channels].
func packBlockedDense(w []float32, groups []int, k int) []float32 {
	nblk := 0
	for _, nb := range groups {
		nblk += nb
	}
	dst := make([]float32, nblk*BlockC*k)
	b0 := 0
	for _, nb := range groups {
		base := b0 * BlockC * k
		for t := 0; t < k; t++ {
			for b := 0; b < nb; b++ {
				for l := 0; l < BlockC; l++ {
					dst[base+(t*nb+b)*BlockC+l] = w[((b0+b)*BlockC+l)*k+t]
				}
			}
		}
		b0 += nb
	}
	return dst
}

// packDW lays out C 3×3 depthwise filters as [block][tap][16 channels].
func packDW(w []float32, channels int) []float32 {
	dst := make([]float32, channels*9)
	for c := 0; c < channels; c++ {
		for t := 0; t < 9; t++ {
			dst[((c/BlockC)*9+t)*BlockC+c%BlockC] = w[c*9+t]
		}
	}
	return dst
}

// Forward computes out = act(conv(in) + bias) for the batch of c.Params(),
// in and out blocked (in NCHW for the stem), splitting each image over
// Threads() goroutines by output rows, so that every layer gives each
// thread the same part of the image.
func (c *BlockedConv) Forward(out, in []float32, act Activation) {
	c.forward(out, in, act, Threads())
}

// ForwardSerial is Forward on the calling goroutine only, with the same
// result bit for bit.
func (c *BlockedConv) ForwardSerial(out, in []float32, act Activation) {
	c.forward(out, in, act, 1)
}

func (c *BlockedConv) forward(out, in []float32, act Activation, threads int) {
	p := c.p
	if len(in) < p.InSize() || len(out) < p.OutSize() {
		panic("kernels: conv input or output too short")
	}
	inSz, outSz := p.InC*p.InH*p.InW, p.OutC*p.OutH()*p.OutW()
	for n := 0; n < p.N; n++ {
		t := blockedTaskPool.Get().(*blockedTask)
		*t = blockedTask{c: c, out: out[n*outSz : (n+1)*outSz], in: in[n*inSz : (n+1)*inSz], relu: act == ActReLU}
		if c.kind == blockedStem {
			t.padded = c.padStemInput(t.in)
			t.in = *t.padded
		}
		var partial *[]float32
		if p.OutC%BlockC != 0 {
			// a 1×1 plane: whole blocks into scratch, OutC of them out
			partial = buffers.Get(len(c.bias))
			t.out = *partial
		}
		units := p.OutH()
		if c.kind == blockedPW && p.OutH()*p.OutW() == 1 {
			t.vectors = 1
			units = len(c.groups) // a pointwise conv on a 1×1 plane splits by output groups
		}
		t.run(units, p.MACs()/p.N, threads)
		if c.kind == blockedStem {
			buffers.Put(t.padded)
		}
		if partial != nil {
			copy(out[n*outSz:(n+1)*outSz], *partial)
			buffers.Put(partial)
		}
		*t = blockedTask{}
		blockedTaskPool.Put(t)
	}
}

// blockedTaskPool recycles the tasks runParallel takes, so that a steady
// stream of convs does not allocate.
var blockedTaskPool = sync.Pool{New: func() any { return new(blockedTask) }}

// blockedParallelMin is the multiply-add count of one image's conv from
// which it is split over goroutines.
var blockedParallelMin = 256 << 10

type blockedTask struct {
	c       *BlockedConv
	out, in []float32
	padded  *[]float32
	relu    bool
	// vectors > 0: a pointwise conv on that many 1×1 planes side by side
	// (a fully connected layer); parts are ranges of output groups
	vectors int
	parts   int
}

// run splits t into up to units parts over threads goroutines when the
// conv has at least blockedParallelMin multiply-adds, and runs them.
func (t *blockedTask) run(units, macs, threads int) {
	t.parts = 1
	if threads > 1 && macs >= blockedParallelMin {
		t.parts = min(threads, units)
	}
	runParallel(t, t.parts)
}

func (t *blockedTask) runPart(part int) {
	oh := t.c.p.OutH()
	y0, y1 := part*oh/t.parts, (part+1)*oh/t.parts
	switch t.c.kind {
	case blockedPW:
		g0, g1 := 0, len(t.c.groups)
		if t.vectors > 0 {
			g0, g1 = part*g1/t.parts, (part+1)*g1/t.parts
			t.c.pwPixels(t.out, t.in, t.vectors, 0, t.vectors, g0, g1, t.relu)
			return
		}
		t.c.pwRows(t.out, t.in, y0, y1, g0, g1, t.relu)
	case blockedDW:
		t.c.dwRows(t.out, t.in, y0, y1, t.relu)
	case blockedStem:
		t.c.stemRows(t.out, t.in, y0, y1, t.relu)
	}
}

// pwRows computes output rows [y0, y1) of output groups [g0, g1) of a
// pointwise conv: pixels [y0·W, y1·W) in blocks of pwPixelBlock(kc) pixels,
// each block group by group and input channels in chunks of gemmKC (the
// GEMM's blocks, so the sums are the same), pixel tiles of pwTileSizes.
// A block's chunk of input stays in L2 while every group's weights pass
// over it: at 448 channels of 28×28 the whole input (1.4 MB) would
// otherwise be read once per group.
//
// The weights are one stream, chunk after chunk, and the larger layers'
// do not stay in cache from one image to the next (s3: 2.4 MB per 768×768
// conv, 40 MB in all): the first tile of a chunk would wait on memory
// while the later ones, reusing it, leave the bus idle. So the kernels
// prefetch the next chunk while they work on this one, spread evenly over
// the chunk's tiles (s3's 768→2048 conv at 7×7, 5 tiles a chunk: 990 → 805 µs on
// AVX-512, 1650 → 1500 on AVX2; 768→768 at 14×14: 1160 → 1107 µs).
func (c *BlockedConv) pwRows(out, in []float32, y0, y1, g0, g1 int, relu bool) {
	c.pwPixels(out, in, c.p.InH*c.p.InW, y0*c.p.InW, y1*c.p.InW, g0, g1, relu)
}

// pwPixels is pwRows for pixels [p0, p1) of planes of hw pixels.
func (c *BlockedConv) pwPixels(out, in []float32, hw, p0, p1, g0, g1 int, relu bool) {
	p := c.p
	step := pwPixelBlock(min(gemmKC, p.InC))
	first := 0 // the first block of group g0
	for _, nb := range c.groups[:g0] {
		first += nb
	}
	for q0, q1 := p0, p0; q0 < p1; q0 = q1 {
		// a short remainder joins the last block rather than streaming
		// every weight again for a few pixels (14×14 at 256 channels:
		// 196 pixels in one block, not 192 + 4)
		if q1 = q0 + step; p1-q1 < step/4 {
			q1 = p1
		}
		b0 := first
		for _, nb := range c.groups[g0:g1] {
			// lines to prefetch per step: the next chunk has about
			// kc·nb lines and this one runs tiles·kc/16 steps
			tiles := 0
			tileRuns(nb, q1-q0, func(_, _, n int) { tiles += n })
			pfn := (16*nb + tiles - 1) / tiles
			wg := c.w[b0*BlockC*p.InC:]
			for k0 := 0; k0 < p.InC; k0 += gemmKC {
				kc := min(gemmKC, p.InC-k0)
				flags := 0
				bias := c.bias[b0*BlockC:]
				if k0 > 0 {
					flags |= kernAccumulate
					bias = zeroBlocks[:]
				}
				if relu && k0+kc == p.InC {
					flags |= kernReLU
				}
				w := wg[k0*nb*BlockC:]
				pf := w[kc*nb*BlockC:] // the next chunk
				x := in[k0*hw:]
				tileRuns(nb, q1-q0, func(off, np, n int) {
					px := q0 + off
					pwTiles(nb, np, n, kc/BlockC, w, x[px*BlockC:], hw*BlockC, out[(b0*hw+px)*BlockC:], hw*BlockC, bias, flags, pf, pfn)
					pf = pf[min(len(pf), n*kc*pfn):]
				})
			}
			b0 += nb
		}
	}
}

// pwPixelBlock is the pixel count of a pointwise conv's blocks for input
// chunks of kc channels: ~192 KB of input, whole 12-pixel tiles (two
// 6-pixel ones on AVX2).
func pwPixelBlock(kc int) int {
	return max(12, (192<<10)/(4*kc)/12*12)
}

// tileRuns calls run for each run of kernel tiles of one width that
// together cover n pixels for nb blocks, widest first: the run's first
// pixel, the tile width and the number of tiles.
func tileRuns(nb, n int, run func(off, np, count int)) {
	for off := 0; off < n; {
		np := pwTileFor(nb, n-off)
		k := (n - off) / np
		run(off, np, k)
		off += k * np
	}
}

// zeroBlocks is the bias of the second and later input-channel chunks.
var zeroBlocks [3 * BlockC]float32

// pwTileFor returns the widest pixel tile for nb blocks that fits in n
// pixels.
func pwTileFor(nb, n int) int {
	for _, np := range pwTileSizes(nb) {
		if np <= n {
			return np
		}
	}
	return 1
}

// pwTileSizes lists the pixel counts of the kernels for nb blocks, widest
// first (as _gen's pwTiles): the AVX2 kernels take one block at up to 6
// pixels.
func pwTileSizes(nb int) []int {
	switch {
	case !useAVX512:
		return tileSizesY
	case nb == 3:
		return tileSizesZ3
	}
	return tileSizesZ
}

var (
	tileSizesY  = []int{6, 4, 2, 1}
	tileSizesZ3 = []int{8, 4, 2, 1}
	tileSizesZ  = []int{12, 8, 4, 2, 1}
)

// dwRows computes output rows [y0, y1) of a 3×3 depthwise conv, block by
// block.
func (c *BlockedConv) dwRows(out, in []float32, y0, y1 int, relu bool) {
	p := c.p
	H, W, s := p.InH, p.InW, p.StrideH
	oh, ow := p.OutH(), p.OutW()
	zeros := blockedZeros(W * BlockC)
	if H == 1 && W == 1 {
		dw1x1Plane(out, in, c.w, c.bias, p.OutC, relu)
		return
	}
	// the sums of the NCHW kernels: the first output of a row is one
	// chain when W < 9 and, at stride 2, when W ≥ 18; the last when W ≥ 18
	// at stride 2 (it misses its right column only for odd W); narrow
	// stride-1 planes go through the AVX2 row kernel there
	flags := 0
	if relu {
		flags |= 1
	}
	if W < dwPlaneMinW || s == 2 && W >= dwMinW2 {
		flags |= 2
	}
	if s == 1 && W < dwPlaneMinW {
		flags |= 8 // the AVX2 row kernel's two chains
	}
	if s == 2 && W >= dwMinW2 {
		flags |= 4
	}
	xr := ow - 1 // outputs [1, xr) have all three columns inside the row
	if s == 2 && W%2 == 0 {
		xr = ow
	}
	for b := 0; b < p.OutC/BlockC; b++ {
		plane := in[b*H*W*BlockC : (b+1)*H*W*BlockC]
		dst := out[b*oh*ow*BlockC : (b+1)*oh*ow*BlockC]
		w := c.w[b*9*BlockC : (b+1)*9*BlockC]
		bias := c.bias[b*BlockC : (b+1)*BlockC]
		dwRowsBlocked(s, dst, plane, zeros, w, bias, H, W, ow, xr, flags, y0, y1)
	}
}

// dw1x1Plane is a 3×3 depthwise conv on a 1×1 plane: only the centre tap
// sees the input (a product, then the bias, as the NCHW path computes it).
func dw1x1Plane(out, in, w, bias []float32, channels int, relu bool) {
	for c := 0; c < channels; c++ {
		v := in[c] * w[((c/BlockC)*9+4)*BlockC+c%BlockC]
		v += bias[c]
		if relu && v < 0 {
			v = 0
		}
		out[c] = v
	}
}

var (
	zerosMu sync.Mutex
	zerosV  []float32
)

// blockedZeros returns at least n zeros (never written).
func blockedZeros(n int) []float32 {
	zerosMu.Lock()
	defer zerosMu.Unlock()
	if len(zerosV) < n {
		zerosV = make([]float32, max(n, 4096))
	}
	return zerosV[:n]
}

// stemPadded is the size of the stem's zero-padded input planes.
func (c *BlockedConv) stemPadded() (hp, wp int) {
	return c.p.InH + 2*c.p.PadH, c.p.InW + 2*c.p.PadW
}

// padStemInput copies one NCHW image into a pooled buffer with a zero
// border of PadH rows and PadW columns (give it back to buffers).
func (c *BlockedConv) padStemInput(in []float32) *[]float32 {
	p := c.p
	hp, wp := c.stemPadded()
	buf := buffers.Get(p.InC * hp * wp)
	pad := *buf
	for ch := 0; ch < p.InC; ch++ {
		dst := pad[ch*hp*wp : (ch+1)*hp*wp]
		clear(dst[:p.PadH*wp])
		for y := 0; y < p.InH; y++ {
			row := dst[(y+p.PadH)*wp : (y+p.PadH+1)*wp]
			clear(row[:p.PadW])
			copy(row[p.PadW:], in[(ch*p.InH+y)*p.InW:(ch*p.InH+y+1)*p.InW])
			clear(row[p.PadW+p.InW:])
		}
		clear(dst[(p.InH+p.PadH)*wp:])
	}
	return buf
}

// stemOffsets returns the byte offset of each tap (in the order of the
// weights: channel, ky, kx) from an output pixel's corner in the padded
// input.
func (c *BlockedConv) stemOffsets() []int {
	p := c.p
	hp, wp := c.stemPadded()
	offs := make([]int, 0, p.InC*p.KH*p.KW)
	for ch := 0; ch < p.InC; ch++ {
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				offs = append(offs, 4*((ch*hp+ky)*wp+kx))
			}
		}
	}
	return offs
}

// stemRows computes output rows [y0, y1) of the stem from the padded
// input, group by group, pixel tiles along each row.
func (c *BlockedConv) stemRows(out, pad []float32, y0, y1 int, relu bool) {
	p := c.p
	_, wp := c.stemPadded()
	oh, ow := p.OutH(), p.OutW()
	taps := p.InC * p.KH * p.KW
	flags := 0
	if relu {
		flags = kernReLU
	}
	b0 := 0
	for _, nb := range c.groups {
		w := c.w[b0*BlockC*taps:]
		bias := c.bias[b0*BlockC:]
		for y := y0; y < y1; y++ {
			tileRuns(nb, ow, func(x, np, n int) {
				stemTiles(nb, np, n, c.offs, w, pad[2*y*wp+2*x:], out[(b0*oh*ow+y*ow+x)*BlockC:], oh*ow*BlockC, bias, flags)
			})
		}
		b0 += nb
	}
}
