package model

import "fmt"

// ComplexityRow is the cost of one part of the model.
type ComplexityRow struct {
	Name   string // "backbone.stage0", ..., "neck", "head"
	Params int
	FLOPs  int   // multiply-accumulates and pooling/normalization elements
	Output []int // output shape of the part for one image [C, H, W] or [C]
}

// Complexity is the parameter and FLOP count of the model for one image,
// counted as mmpretrain's tools/analysis_tools/get_flops.py (mmengine's
// fvcore-style counter over extract_feat) counts it: one FLOP per
// multiply-accumulate of every conv (SE convs included), one per input
// element of every average pool, two per element of every eval-mode
// affine BatchNorm, nothing for additions and activations, and the head is
// not part of the count. For the deploy graphs this reproduces
// configs/mobileone/metafile.yml exactly (s0: 274,136,576 at 224×224).
type Complexity struct {
	Input  [3]int // C, H, W
	Rows   []ComplexityRow
	FLOPs  int // sum over backbone and neck rows
	Params int // all parameters, head included
	// HeadFLOPs are the head's multiply-accumulates, reported apart.
	HeadFLOPs int
}

// Complexity counts the model's cost for one image of h×w pixels.
func (m *ImageClassifier) Complexity(h, w int) (Complexity, error) {
	if h < 1 || w < 1 {
		return Complexity{}, fmt.Errorf("model: input shape %dx%d is empty", h, w)
	}
	cx := Complexity{Input: [3]int{3, h, w}}
	blocks, names := m.Blocks()
	c := 3
	// stage rows aggregate their blocks
	stageOf := func(name string) string {
		// "backbone.stageN.i" -> "backbone.stageN"
		for i := len("backbone.stage"); i < len(name); i++ {
			if name[i] == '.' {
				return name[:i]
			}
		}
		return name
	}
	for i, b := range blocks {
		params, flops := b.complexity(h, w)
		h, w = (h+2*b.Padding-b.K)/b.Stride+1, (w+2*b.Padding-b.K)/b.Stride+1
		c = b.Out
		if h < 1 || w < 1 {
			return cx, fmt.Errorf("model: input too small: %s would have an empty output", names[i])
		}
		name := stageOf(names[i])
		if n := len(cx.Rows); n > 0 && cx.Rows[n-1].Name == name {
			cx.Rows[n-1].Params += params
			cx.Rows[n-1].FLOPs += flops
			cx.Rows[n-1].Output = []int{c, h, w}
		} else {
			cx.Rows = append(cx.Rows, ComplexityRow{Name: name, Params: params, FLOPs: flops, Output: []int{c, h, w}})
		}
	}
	cx.Rows = append(cx.Rows, ComplexityRow{Name: "neck", FLOPs: c * h * w, Output: []int{c}})
	head := m.Head.FC
	cx.Rows = append(cx.Rows, ComplexityRow{Name: "head", Params: head.Weight.Numel() + head.Bias.Numel(), Output: []int{head.Out}})
	cx.HeadFLOPs = head.In * head.Out
	for _, r := range cx.Rows {
		cx.FLOPs += r.FLOPs
		cx.Params += r.Params
	}
	return cx, nil
}

// complexity returns the parameters and FLOPs of one block for an input of
// h×w pixels.
func (b *MobileOneBlock) complexity(h, w int) (params, flops int) {
	oh, ow := (h+2*b.Padding-b.K)/b.Stride+1, (w+2*b.Padding-b.K)/b.Stride+1
	conv := func(c *Conv2d, oh, ow int) {
		params += c.Weight.Numel()
		if c.Bias != nil {
			params += c.Bias.Numel()
		}
		flops += c.Out * oh * ow * (c.In / c.Groups) * c.K * c.K
	}
	bn := func(n *BatchNorm2d, numel int) {
		params += n.Weight.Numel() + n.Bias.Numel()
		flops += 2 * numel
	}
	if b.BranchReparam != nil {
		conv(b.BranchReparam, oh, ow)
	}
	if b.BranchNorm != nil {
		bn(b.BranchNorm, b.In*h*w)
	}
	if b.BranchScale != nil {
		conv(b.BranchScale.Conv, oh, ow)
		bn(b.BranchScale.Norm, b.Out*oh*ow)
	}
	for _, cb := range b.BranchConvList {
		conv(cb.Conv, oh, ow)
		bn(cb.Norm, b.Out*oh*ow)
	}
	if b.SE != nil {
		flops += b.Out * oh * ow // global average pool
		conv(b.SE.Conv1, 1, 1)
		conv(b.SE.Conv2, 1, 1)
	}
	return params, flops
}
