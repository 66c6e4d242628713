package model

import (
	"fmt"
	"math"

	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// Outputs are the eval-mode results of one forward pass, named as
// mmpretrain's ImageClassifier returns them.
type Outputs struct {
	Backbone *Tensor // extract_feat(x, stage='backbone')[-1]: [N, C, h, w]
	Neck     *Tensor // extract_feat(x): GlobalAveragePooling output [N, C]
	Logits   *Tensor // forward(mode='tensor'): [N, num_classes]
}

// ShapeError reports an input whose shape the model cannot take.
type ShapeError struct {
	Got  []int
	Want string
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("model: input shape %v, want %s", e.Got, e.Want)
}

// Forward runs the eval-mode forward pass (BatchNorm with running
// statistics) of either graph on a normalized NCHW batch and returns the
// logits.
func (m *ImageClassifier) Forward(x *Tensor) (*Tensor, error) {
	out, err := m.ForwardAll(x)
	return out.Logits, err
}

// ForwardAll is Forward returning the backbone and neck features as well.
func (m *ImageClassifier) ForwardAll(x *Tensor) (Outputs, error) {
	if err := checkInput(x); err != nil {
		return Outputs{}, err
	}
	return m.forwardEval(x, evalEnv{conv: plainConv, buffers: nil}, true)
}

// checkInput accepts a normalized NCHW batch of 3-channel images.
func checkInput(x *Tensor) error {
	if len(x.Shape) != 4 || x.Shape[1] != 3 || x.Shape[0] < 1 || x.Shape[2] < 1 || x.Shape[3] < 1 || len(x.Data) != x.Numel() {
		return &ShapeError{Got: x.Shape, Want: "[N, 3, H, W]"}
	}
	return nil
}

// convFunc runs conv c of a block: out = act(conv(in) + bias) for the
// batch geometry p. The eval forward pass takes one so that a Predictor
// can run pre-packed weights through the same code.
type convFunc func(c *Conv2d, out, in []float32, p kernels.ConvParams, act kernels.Activation)

func plainConv(c *Conv2d, out, in []float32, p kernels.ConvParams, act kernels.Activation) {
	var bias []float32
	if c.Bias != nil {
		bias = c.Bias.Data
	}
	kernels.Conv2D(out, in, c.Weight.Data, bias, p, act)
}

// evalEnv is how the eval forward pass runs convs and where it takes its
// activation buffers from: buffers nil means fresh allocations.
type evalEnv struct {
	conv    convFunc
	buffers *freeList
	// head, when set, is the head's fc viewed as a 1×1 conv: the logits
	// then go through conv (pre-packed) instead of kernels.Linear.
	head *Conv2d
}

func (e evalEnv) get(n int) []float32 {
	if e.buffers == nil {
		return make([]float32, n)
	}
	return e.buffers.get(n)
}

func (e evalEnv) put(b []float32) {
	if e.buffers != nil {
		e.buffers.put(b)
	}
}

// freeList recycles activation buffers within and across forward passes.
// Every buffer the eval pass takes is fully written before it is read, so
// buffers are not cleared. It is not safe for concurrent use.
type freeList struct{ free [][]float32 }

func (f *freeList) get(n int) []float32 {
	best := -1
	for i, b := range f.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(f.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return make([]float32, n)
	}
	b := f.free[best][:n]
	f.free[best] = f.free[len(f.free)-1]
	f.free = f.free[:len(f.free)-1]
	return b
}

func (f *freeList) put(b []float32) { f.free = append(f.free, b) }

// forwardEval runs the eval forward pass. With keepFeatures false the
// backbone and neck buffers go back to env's free list and only the
// logits are returned.
func (m *ImageClassifier) forwardEval(x *Tensor, env evalEnv, keepFeatures bool) (Outputs, error) {
	h := m.backboneEval(x, env)
	neck, logits := m.neckHead(h, env)
	if !keepFeatures {
		env.put(h.Data)
		env.put(neck.Data)
		return Outputs{Logits: logits}, nil
	}
	return Outputs{Backbone: h, Neck: neck, Logits: logits}, nil
}

// backboneEval runs the backbone's eval forward pass, handing every
// intermediate buffer back to env.
func (m *ImageClassifier) backboneEval(x *Tensor, env evalEnv) *Tensor {
	h := m.Backbone.Stage0.forwardEval(x, env)
	for _, stage := range m.Backbone.Stages {
		for _, b := range stage {
			next := b.forwardEval(h, env)
			env.put(h.Data)
			h = next
		}
	}
	return h
}

// neckHead is GlobalAveragePooling followed by the LinearClsHead's fc.
func (m *ImageClassifier) neckHead(h *Tensor, env evalEnv) (neck, logits *Tensor) {
	n, c := h.Shape[0], h.Shape[1]
	neck = &Tensor{Shape: []int{n, c}, Data: env.get(n * c)}
	kernels.GlobalAvgPool(neck.Data, h.Data, n, c, h.Shape[2]*h.Shape[3])
	logits = NewTensor(n, m.Head.FC.Out)
	if env.head != nil {
		env.conv(env.head, logits.Data, neck.Data, env.head.params(n, 1, 1), kernels.ActNone)
		return neck, logits
	}
	kernels.Linear(logits.Data, neck.Data, m.Head.FC.Weight.Data, m.Head.FC.Bias.Data, n, m.Head.FC.In, m.Head.FC.Out)
	return neck, logits
}

// forwardEval is MobileOneBlock.forward in eval mode: act(se(sum of
// branches)) with the branches added in upstream's order (identity, scale,
// conv 0..n−1), or act(se(branch_reparam(x))) once deployed.
func (b *MobileOneBlock) forwardEval(x *Tensor, env evalEnv) *Tensor {
	conv := env.conv
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	p := kernels.ConvParams{N: n, InC: b.In, InH: h, InW: w, OutC: b.Out, KH: b.K, KW: b.K,
		StrideH: b.Stride, StrideW: b.Stride, PadH: b.Padding, PadW: b.Padding, Groups: b.Groups}
	oh, ow := p.OutH(), p.OutW()
	out := &Tensor{Shape: []int{n, b.Out, oh, ow}, Data: env.get(n * b.Out * oh * ow)}
	act := kernels.ActReLU
	if b.SE != nil {
		act = kernels.ActNone
	}
	if b.BranchReparam != nil {
		conv(b.BranchReparam, out.Data, x.Data, p, act)
	} else {
		started := false
		if bn := b.BranchNorm; bn != nil {
			kernels.BatchNormInference(out.Data, x.Data, bn.RunningMean.Data, bn.RunningVar.Data, bn.Weight.Data, bn.Bias.Data, bn.Eps, n, b.Out, oh*ow, false)
			started = true
		}
		tmp := env.get(len(out.Data))
		defer env.put(tmp)
		branch := func(cb *ConvBN) {
			conv(cb.Conv, tmp, x.Data, cb.Conv.params(n, h, w), kernels.ActNone)
			bn := cb.Norm
			kernels.BatchNormInference(out.Data, tmp, bn.RunningMean.Data, bn.RunningVar.Data, bn.Weight.Data, bn.Bias.Data, bn.Eps, n, b.Out, oh*ow, started)
			started = true
		}
		if b.BranchScale != nil {
			branch(b.BranchScale)
		}
		for _, cb := range b.BranchConvList {
			branch(cb)
		}
		if act == kernels.ActReLU {
			kernels.ReLU(out.Data, out.Data)
		}
	}
	if b.SE != nil {
		b.SE.forward(out, env)
		kernels.ReLU(out.Data, out.Data)
	}
	return out
}

// forward applies the SE layer in place: x ·= sigmoid(conv2(relu(conv1(gap(x))))).
func (se *SELayer) forward(x *Tensor, env evalEnv) {
	n, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	pooled, exc := env.get(n*c), env.get(n*c)
	defer func() { env.put(pooled); env.put(exc) }()
	kernels.GlobalAvgPool(pooled, x.Data, n, c, hw)
	se.excite(exc, pooled, n, env)
	kernels.ScaleChannels(x.Data, x.Data, exc, n, c, hw)
}

// excite writes the channel scales sigmoid(conv2(relu(conv1(pooled)))) of
// n images, the convs through env.conv (pre-packed in a Predictor).
func (se *SELayer) excite(exc, pooled []float32, n int, env evalEnv) {
	sq := env.get(n * se.Conv1.Out)
	defer env.put(sq)
	env.conv(se.Conv1, sq, pooled, se.Conv1.params(n, 1, 1), kernels.ActReLU)
	env.conv(se.Conv2, exc, sq, se.Conv2.params(n, 1, 1), kernels.ActNone)
	kernels.Sigmoid(exc, exc)
}

// Softmax returns softmax over the last axis of a [N, K] tensor, as
// LinearClsHead.predict computes pred_score.
func Softmax(logits *Tensor) *Tensor {
	out := NewTensor(logits.Shape...)
	k := logits.Shape[len(logits.Shape)-1]
	for i := 0; i < len(logits.Data)/k; i++ {
		row, dst := logits.Data[i*k:(i+1)*k], out.Data[i*k:(i+1)*k]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var s float64
		for j, v := range row {
			e := math.Exp(float64(v - mx))
			dst[j] = float32(e)
			s += e
		}
		inv := 1 / s
		for j := range dst {
			dst[j] = float32(float64(dst[j]) * inv)
		}
	}
	return out
}
