package model

import (
	"fmt"
	"time"

	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// Blocked inference: where the blocked kernels are assembly (AVX-512, or
// AVX2 and FMA: kernels.BlockedFast) a deployed model runs each image on
// blocked (NCHWc) activations, the stem reading the NCHW input and the
// pooling writing the NCHW neck, so no reorder runs in between
// (kernels.BlockedConv). The logits are those of the NCHW kernels bit for
// bit (TestPredictorBlockedIsExact); elsewhere, and for ForwardAll, the
// NCHW path runs.

// blockedBlocks returns the convs of a model that can run blocked, in
// order, or nil.
func blockedBlocks(m *ImageClassifier) []*MobileOneBlock {
	if !kernels.BlockedFast() || !m.Deployed() {
		return nil
	}
	blocks := []*MobileOneBlock{m.Backbone.Stage0}
	for _, stage := range m.Backbone.Stages {
		blocks = append(blocks, stage...)
	}
	for i, b := range blocks {
		if b.BranchReparam == nil {
			return nil
		}
		// the geometry of a 64×64 input decides; kinds do not depend on
		// the size (every stride-2 conv halves it). The stem reads the NCHW
		// image, every later conv the blocked output before it.
		cp := b.BranchReparam.params(1, 64, 64)
		if !kernels.BlockedSupported(cp) || kernels.BlockedReadsNCHW(cp) != (i == 0) {
			return nil
		}
	}
	return blocks
}

// Layout names the activations' layout Forward uses: "nchwc" (blocked)
// or "nchw".
func (p *Predictor) Layout() string {
	if p.blocked != nil {
		return "nchwc"
	}
	return "nchw"
}

// blockedKey identifies a BlockedConv: a conv at one input size.
type blockedKey struct {
	conv *Conv2d
	h, w int
}

// blockedConv returns c's BlockedConv for one image of h×w, laying out
// its weights the first time.
func (p *Predictor) blockedConv(c *Conv2d, h, w int) *kernels.BlockedConv {
	key := blockedKey{c, h, w}
	p.mu.Lock()
	defer p.mu.Unlock()
	bc, ok := p.blockedConvs[key]
	if !ok {
		var bias []float32
		if c.Bias != nil {
			bias = c.Bias.Data
		}
		bc = kernels.NewBlockedConv(c.Weight.Data, bias, c.params(1, h, w))
		p.blockedConvs[key] = bc
	}
	return bc
}

// neckBlocked runs one NCHW image (C×h×w values) through the backbone on
// blocked activations and writes its pooled features (the neck) to neck.
// serial, when not nil, is asked before each block whether its convs stay
// on the calling goroutine (else they split over Threads()). after, when
// not nil, is called after each block i and, with i = len(p.blocked),
// after the pooling.
func (p *Predictor) neckBlocked(neck, img []float32, h, w int, fl *freeList, serial func() bool, after func(i int)) {
	cur := img
	for i, b := range p.blocked {
		serial := serial != nil && serial()
		bc := p.blockedConv(b.BranchReparam, h, w)
		cp := bc.Params()
		out := fl.get(cp.OutSize())
		act := kernels.ActReLU
		if b.SE != nil {
			act = kernels.ActNone
		}
		if serial {
			bc.ForwardSerial(out, cur, act)
		} else {
			bc.Forward(out, cur, act)
		}
		if b.SE != nil {
			hw := cp.OutH() * cp.OutW()
			pooled, exc := fl.get(b.Out), fl.get(b.Out)
			kernels.GlobalAvgPoolBlocked(pooled, out, b.Out, hw)
			conv := p.conv
			if serial {
				conv = p.convSerial
			}
			b.SE.excite(exc, pooled, 1, evalEnv{conv: conv, buffers: fl})
			kernels.ScaleChannelsBlocked(out, exc, b.Out, hw, true)
			fl.put(pooled)
			fl.put(exc)
		}
		if len(cur) > 0 && &cur[0] != &img[0] {
			fl.put(cur)
		}
		cur, h, w = out, cp.OutH(), cp.OutW()
		if after != nil {
			after(i)
		}
	}
	c := p.blocked[len(p.blocked)-1].Out
	kernels.GlobalAvgPoolBlocked(neck, cur, c, h*w)
	fl.put(cur)
	if after != nil {
		after(len(p.blocked))
	}
}

// headLogits runs the head on the necks of n images. With the blocked
// kernels, the head is a blocked pointwise conv on a 1×1 plane: its
// weights are one stream per output group, where the GEMM's column kernel
// reads the 6-row panels of the whole matrix side by side (s0: 1000×1024,
// 4 MB from L3 on every image; 170 → 115 µs evicted). A batch goes through
// it as the pixels of one plane (BlockedConv.Linear), reading the weights
// once for all images.
func (p *Predictor) headLogits(logits, neck []float32, n int) {
	if cp := p.head.params(1, 1, 1); p.blocked != nil && kernels.BlockedSupported(cp) {
		p.blockedConv(p.head, 1, 1).Linear(logits, neck, n)
		return
	}
	p.conv(p.head, logits, neck, p.head.params(n, 1, 1), kernels.ActNone)
}

// profileBlocked is ProfileStages on blocked activations: the images one
// after another, each conv split over Threads() as Forward does at batch
// 1; the pooling counts with the head.
func (p *Predictor) profileBlocked(x *Tensor) []StageTime {
	fl := p.freeList()
	defer p.buffers.Put(fl)
	names := []string{"backbone.stage0"}
	stageOf := []int{0}
	for s, stage := range p.m.Backbone.Stages {
		names = append(names, fmt.Sprintf("backbone.stage%d", s+1))
		for range stage {
			stageOf = append(stageOf, s+1)
		}
	}
	names = append(names, "neck+head")
	stageOf = append(stageOf, len(names)-1)
	secs := make([]float64, len(names))
	n, per, c := x.Shape[0], len(x.Data)/x.Shape[0], p.head.In
	neck := fl.get(n * c)
	defer fl.put(neck)
	var t0 time.Time
	mark := func(i int) {
		now := time.Now()
		secs[stageOf[i]] += now.Sub(t0).Seconds()
		t0 = now
	}
	for i := 0; i < n; i++ {
		t0 = time.Now()
		p.neckBlocked(neck[i*c:(i+1)*c], x.Data[i*per:(i+1)*per], x.Shape[2], x.Shape[3], fl, nil, mark)
	}
	logits := fl.get(n * p.head.Out)
	defer fl.put(logits)
	t0 = time.Now()
	p.headLogits(logits, neck, n)
	secs[len(secs)-1] += time.Since(t0).Seconds()
	out := make([]StageTime, len(names))
	for i, name := range names {
		out[i] = StageTime{name, secs[i]}
	}
	return out
}
