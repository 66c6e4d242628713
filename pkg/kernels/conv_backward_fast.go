package kernels

import "sync"

// Fast paths of the training kernels (assembly builds): the weights are
// packed once per call for all images of the batch, the weight gradient is
// split over output rows (no per-goroutine partial sums to add up), and
// the depthwise 3×3 gradients run on the row kernels.

// backwardDataFast runs Conv2DBackwardData on the fast kernels and reports
// whether it handled p.
func backwardDataFast(dIn, dOut, w []float32, p ConvParams) bool {
	if !useAVX2 {
		return false
	}
	if dw3x3Fast(p) && p.StrideH == 1 {
		// Stride 1, padding 1: dIn = dOut ⋆ rot180(w), a forward depthwise
		// conv of the same geometry with flipped taps.
		wf := buffers.Get(9 * p.InC)
		for c := 0; c < p.InC; c++ {
			src, dst := w[c*9:c*9+9], (*wf)[c*9:c*9+9]
			for i := range 9 {
				dst[i] = src[8-i]
			}
		}
		conv2DFast(dIn, dOut, *wf, nil, nil, p, ActNone)
		buffers.Put(wf)
		return true
	}
	if dw3x3Fast(p) {
		// stride 2: a gather over the input columns, split over
		// images × channels
		j := bwdJobPool.Get().(*bwdJob)
		*j = bwdJob{dIn: dIn, dOut: dOut, dW: w, p: p, parts: 1, dwData: true}
		if t := Threads(); t > 1 && 2*p.MACs() >= dwSplitMin {
			j.parts = min(t, p.N*p.InC)
			runParallel(j, j.parts)
		} else {
			j.runPart(0)
		}
		*j = bwdJob{}
		bwdJobPool.Put(j)
		return true
	}
	if dw1x1(p) {
		inSz, outSz := p.InC*p.InH*p.InW, p.OutC*p.OutH()*p.OutW()
		_ = outSz
		runSplit(splitJob{kind: splitDW1x1Data, a: dIn, b: dOut, c: w, p: p, units: p.N}, elemChunkMin/max(1, inSz))
		return true
	}
	if p.Groups != 1 {
		return false
	}
	k := p.InC * p.KH * p.KW
	if pwBatched(p) {
		// dIn = Wᵀ·dOut over the batch laid side by side
		hw := p.OutH() * p.OutW()
		cols := p.N * hw
		d := buffers.Get(p.OutC * cols)
		x := buffers.Get(p.InC * cols)
		gatherBatch(*d, dOut, p.N, p.OutC, hw)
		gemmPacked(*x, w, *d, GemmParams{M: p.InC, N: cols, K: p.OutC, TransA: true}.withDefaults(), true)
		scatterBatch(dIn, *x, p.N, p.InC, hw)
		buffers.Put(d)
		buffers.Put(x)
		return true
	}
	j := bwdJobPool.Get().(*bwdJob)
	*j = bwdJob{dIn: dIn, dOut: dOut, p: p, parts: 1}
	// op(A) = Wᵀ: k×OutC, packed once for the batch.
	j.sp = getScratchPackedA(w, k, true, k, p.OutC)
	if t := Threads(); t > 1 && p.N > 1 {
		j.parts = min(t, p.N)
		runParallel(j, j.parts)
	} else {
		j.runPart(0)
	}
	putScratchPackedA(j.sp)
	*j = bwdJob{}
	bwdJobPool.Put(j)
	return true
}

// bwdJob is one fast Conv2DBackwardData (sp set) or Conv2DBackwardWeight
// call, split over images (data) or output rows / channels (weight).
type bwdJob struct {
	dIn, dOut, in, dW []float32
	sp                *scratchPackedA
	p                 ConvParams
	parts             int
	dwData            bool // stride-2 depthwise input gradient (w in dW)
}

var bwdJobPool = sync.Pool{New: func() any { return new(bwdJob) }}

func (j *bwdJob) runPart(part int) {
	if j.dwData {
		p := j.p
		units := p.N * p.InC
		for u := part * units / j.parts; u < (part+1)*units/j.parts; u++ {
			depthwise3x3S2BackwardDataPlane(j.dIn[u*p.InH*p.InW:(u+1)*p.InH*p.InW], j.dOut[u*p.OutH()*p.OutW():(u+1)*p.OutH()*p.OutW()], j.dW[(u%p.InC)*9:(u%p.InC)*9+9], p)
		}
		return
	}
	if j.sp != nil {
		j.dataPart(part)
	} else {
		j.weightPart(part)
	}
}

func (j *bwdJob) dataPart(part int) {
	p := j.p
	ohw := p.OutH() * p.OutW()
	k := p.InC * p.KH * p.KW
	inSz, outSz := p.InC*p.InH*p.InW, p.OutC*ohw
	lo, hi := part*p.N/j.parts, (part+1)*p.N/j.parts
	parallel := j.parts == 1
	for n := lo; n < hi; n++ {
		di, do := j.dIn[n*inSz:(n+1)*inSz], j.dOut[n*outSz:(n+1)*outSz]
		if p.pointwise() {
			gemmWithPackedA(di, &j.sp.pa, do, p.InC, ohw, p.OutC, false, parallel)
			continue
		}
		col := buffers.Get(k * ohw)
		gemmWithPackedA(*col, &j.sp.pa, do, k, ohw, p.OutC, false, parallel)
		clear(di)
		col2imAdd(di, *col, p.InC, p)
		buffers.Put(col)
	}
}

// backwardWeightFast runs Conv2DBackwardWeight on the fast kernels and
// reports whether it handled p.
func backwardWeightFast(dW, in, dOut []float32, p ConvParams) bool {
	if !useAVX2 {
		return false
	}
	if dw1x1(p) {
		runSplit(splitJob{kind: splitDW1x1Weight, a: dW, b: in, c: dOut, p: p, units: p.InC}, elemChunkMin/max(1, p.N*p.OutH()*p.OutW()))
		return true
	}
	dw := dw3x3Fast(p)
	if !dw && p.Groups != 1 {
		return false
	}
	if !dw && pwBatched(p) {
		// dW = dOut·inᵀ with K = N·H·W: one GEMM over the batch
		hw := p.OutH() * p.OutW()
		cols := p.N * hw
		d := buffers.Get(p.OutC * cols)
		x := buffers.Get(p.InC * cols)
		gatherBatch(*d, dOut, p.N, p.OutC, hw)
		gatherBatch(*x, in, p.N, p.InC, hw)
		gemmPacked(dW, *d, *x, GemmParams{M: p.OutC, N: p.InC, K: cols, TransB: true}.withDefaults(), true)
		buffers.Put(d)
		buffers.Put(x)
		return true
	}
	clear(dW[:p.WeightSize()])
	j := bwdJobPool.Get().(*bwdJob)
	*j = bwdJob{dW: dW, in: in, dOut: dOut, p: p, parts: 1}
	if t := Threads(); t > 1 && 2*p.MACs() >= dwSplitMin {
		// every part walks the whole batch for its rows of dW (dense) or
		// its channels (depthwise)
		units := p.OutC / gemmMR
		if dw {
			units = p.OutC
		}
		j.parts = max(1, min(t, units))
	}
	if j.parts > 1 {
		runParallel(j, j.parts)
	} else {
		j.runPart(0)
	}
	*j = bwdJob{}
	bwdJobPool.Put(j)
	return true
}

// dwSplitMin is the FLOP count of a weight gradient from which it is split
// over goroutines.
var dwSplitMin = 2 << 20

func (j *bwdJob) weightPart(part int) {
	p := j.p
	oh, ow := p.OutH(), p.OutW()
	ohw := oh * ow
	inSz, outSz := p.InC*p.InH*p.InW, p.OutC*ohw
	if dw3x3Fast(p) {
		lo, hi := part*p.InC/j.parts, (part+1)*p.InC/j.parts
		for n := 0; n < p.N; n++ {
			depthwise3x3BackwardWeight(j.dW, j.in[n*inSz:(n+1)*inSz], j.dOut[n*outSz:(n+1)*outSz], p, lo, hi)
		}
		return
	}
	k := p.InC * p.KH * p.KW
	units := (p.OutC + gemmMR - 1) / gemmMR
	lo := part * units / j.parts * gemmMR
	hi := min((part+1)*units/j.parts*gemmMR, p.OutC)
	ws := gemmWSPool.Get().(*gemmWS)
	var col *[]float32
	if !p.pointwise() {
		col = buffers.Get(k * ohw)
	}
	for n := 0; n < p.N; n++ {
		b := j.in[n*inSz : (n+1)*inSz]
		if col != nil {
			im2col(*col, b, p.InC, p)
			b = *col
		}
		// dW(OutC×k) += dOut_n(OutC×ohw) · colᵀ (col stored k×ohw)
		g := gemmJob{m: p.OutC, n: k, k: ohw, a: j.dOut[n*outSz : (n+1)*outSz], lda: ohw,
			b: b, ldb: ohw, transB: true, c: j.dW, ldc: k, accumulate: true}
		g.run(ws, lo, hi, 0, k)
	}
	if col != nil {
		buffers.Put(col)
	}
	gemmWSPool.Put(ws)
}

// depthwise3x3BackwardWeight adds channels [c0,c1) of one image's 3×3
// depthwise weight gradient (padding 1, stride 1 or 2) into dW.
func depthwise3x3BackwardWeight(dW, in, dOut []float32, p ConvParams, c0, c1 int) {
	oh, ow := p.OutH(), p.OutW()
	H, W, s := p.InH, p.InW, p.StrideH
	if s == 1 && W >= 8 {
		for c := c0; c < c1; c++ {
			dwGradW3x3s1Plane(&dW[c*9 : c*9+9][0], &in[c*H*W : (c+1)*H*W][0], &dOut[c*H*W : (c+1)*H*W][0], H, W, &dwZeros[0])
		}
		return
	}
	if s == 1 && H == 1 && W == 1 {
		for c := c0; c < c1; c++ {
			dW[c*9+4] += dOut[c] * in[c]
		}
		return
	}
	if s == 1 {
		// Narrow planes: both planes zero-extended to width 8 (the extra
		// dOut columns are 0 and the extra input columns are the padding,
		// so the sums are unchanged).
		const pw = 8
		buf := buffers.Get(2 * H * pw)
		pi, pd := (*buf)[:H*pw], (*buf)[H*pw:]
		clear(*buf)
		for c := c0; c < c1; c++ {
			for y := 0; y < H; y++ {
				di, dd := pi[y*pw:y*pw+W], pd[y*pw:y*pw+W]
				si, sd := in[c*H*W+y*W:c*H*W+(y+1)*W], dOut[c*H*W+y*W:c*H*W+(y+1)*W]
				for x := range di {
					di[x] = si[x]
					dd[x] = sd[x]
				}
			}
			dwGradW3x3s1Plane(&dW[c*9 : c*9+9][0], &pi[0], &pd[0], H, pw, &dwZeros[0])
		}
		buffers.Put(buf)
		return
	}
	for c := c0; c < c1; c++ {
		plane := in[c*H*W : (c+1)*H*W]
		var acc [9]float32
		for y := 0; y < oh; y++ {
			d := dOut[(c*oh+y)*ow : (c*oh+y+1)*ow]
			for ky := 0; ky < 3; ky++ {
				iy := y*s - 1 + ky
				if iy < 0 || iy >= H {
					continue
				}
				src := plane[iy*W : (iy+1)*W]
				a := (*[3]float32)(acc[ky*3:])
				dwWeightRow(a, d, src, s)
			}
		}
		dst := dW[c*9 : c*9+9]
		for i, v := range acc {
			dst[i] += v
		}
	}
}

// dwWeightRow adds Σ_x d[x]·src[x·s+kx−1] (inside the row) into a[kx].
func dwWeightRow(a *[3]float32, d, src []float32, s int) {
	W, ow := len(src), len(d)
	var s0, s1, s2 float32
	if s == 1 {
		// x = 0: taps 1, 2; x = ow−1 = W−1: taps 0, 1; interior all three.
		if W == 1 {
			a[1] += d[0] * src[0]
			return
		}
		s1 += d[0] * src[0]
		s2 += d[0] * src[1]
		if ow >= 2 {
			inner := d[1 : ow-1]
			l, m, r := src[0:len(inner)], src[1:1+len(inner)], src[2:2+len(inner)]
			var t0, t1, t2, u0, u1, u2 float32
			i := 0
			for ; i+2 <= len(inner); i += 2 {
				t0 += inner[i] * l[i]
				t1 += inner[i] * m[i]
				t2 += inner[i] * r[i]
				u0 += inner[i+1] * l[i+1]
				u1 += inner[i+1] * m[i+1]
				u2 += inner[i+1] * r[i+1]
			}
			for ; i < len(inner); i++ {
				t0 += inner[i] * l[i]
				t1 += inner[i] * m[i]
				t2 += inner[i] * r[i]
			}
			s0 += t0 + u0
			s1 += t1 + u1
			s2 += t2 + u2
			dl := d[ow-1]
			s0 += dl * src[W-2]
			s1 += dl * src[W-1]
		}
	} else {
		for x, v := range d {
			ix := 2 * x
			if ix-1 >= 0 {
				s0 += v * src[ix-1]
			}
			s1 += v * src[ix]
			if ix+1 < W {
				s2 += v * src[ix+1]
			}
		}
	}
	a[0] += s0
	a[1] += s1
	a[2] += s2
}

// depthwise3x3S2BackwardDataPlane writes one input-gradient plane of a 3×3
// depthwise conv with stride 2 and padding 1: input column 2x gets tap 1 of
// output x, column 2x+1 taps 2 of x and 0 of x+1 (rows likewise).
func depthwise3x3S2BackwardDataPlane(di, do, w []float32, p ConvParams) {
	H, W := p.InH, p.InW
	oh, ow := p.OutH(), p.OutW()
	clear(di)
	for y := 0; y < oh; y++ {
		d := do[y*ow : (y+1)*ow]
		for ky := 0; ky < 3; ky++ {
			iy := 2*y - 1 + ky
			if iy < 0 || iy >= H {
				continue
			}
			dst := di[iy*W : (iy+1)*W]
			w0, w1, w2 := w[ky*3], w[ky*3+1], w[ky*3+2]
			x := 0
			for ; x+1 < ow && 2*x+1 < W; x++ {
				dst[2*x] += w1 * d[x]
				dst[2*x+1] += w2*d[x] + w0*d[x+1]
			}
			for ; x < ow; x++ {
				dst[2*x] += w1 * d[x]
				if 2*x+1 < W {
					dst[2*x+1] += w2 * d[x]
				}
			}
		}
	}
}

// depthwise1x1BackwardData writes one image's input gradient of a dw1x1
// conv: dIn = dOut·w[c] at the sampled positions, 0 elsewhere.
func depthwise1x1BackwardData(dIn, dOut, w []float32, p ConvParams) {
	oh, ow := p.OutH(), p.OutW()
	if p.StrideH != 1 || p.StrideW != 1 {
		clear(dIn[:p.InC*p.InH*p.InW])
	}
	for c := 0; c < p.InC; c++ {
		plane := dIn[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		src := dOut[c*oh*ow : (c+1)*oh*ow]
		wv := w[c]
		if p.StrideH == 1 && p.StrideW == 1 {
			for i, v := range src {
				plane[i] = v * wv
			}
			continue
		}
		for y := 0; y < oh; y++ {
			dst := plane[y*p.StrideH*p.InW:]
			for x, v := range src[y*ow : (y+1)*ow] {
				dst[x*p.StrideW] = v * wv
			}
		}
	}
}

// depthwise1x1WeightSum is Σ dOut·in over one plane of a dw1x1 conv (in
// sampled at the stride), in float64 with two partial sums.
func depthwise1x1WeightSum(d, plane []float32, p ConvParams) float64 {
	oh, ow := p.OutH(), p.OutW()
	if p.StrideH == 1 && p.StrideW == 1 {
		plane = plane[:len(d)]
		var s0, s1 float64
		i := 0
		for ; i+2 <= len(d); i += 2 {
			s0 += float64(d[i]) * float64(plane[i])
			s1 += float64(d[i+1]) * float64(plane[i+1])
		}
		for ; i < len(d); i++ {
			s0 += float64(d[i]) * float64(plane[i])
		}
		return s0 + s1
	}
	var s float64
	for y := 0; y < oh; y++ {
		src := plane[y*p.StrideH*p.InW:]
		for x, v := range d[y*ow : (y+1)*ow] {
			s += float64(v) * float64(src[x*p.StrideW])
		}
	}
	return s
}
