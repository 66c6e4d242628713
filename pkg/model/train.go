package model

import (
	"fmt"

	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// Grads holds one gradient tensor per trainable parameter, in the order of
// Parameters() (so Grads.Tensors[i] is the gradient of Parameters()[i]).
type Grads struct {
	Keys    []string
	Tensors []*Tensor
	index   map[*Tensor]int // parameter storage -> slot
}

// NewGrads allocates zero gradients for every trainable parameter of m.
func (m *ImageClassifier) NewGrads() *Grads {
	ps := m.Parameters()
	g := &Grads{Keys: make([]string, len(ps)), Tensors: make([]*Tensor, len(ps)), index: make(map[*Tensor]int, len(ps))}
	for i, e := range ps {
		g.Keys[i] = e.Key
		g.Tensors[i] = NewTensor(e.Tensor.Shape...)
		g.index[e.Tensor] = i
	}
	return g
}

// Zero sets every gradient to 0.
func (g *Grads) Zero() {
	for _, t := range g.Tensors {
		clear(t.Data)
	}
}

// Of returns the gradient slot of the parameter tensor p; it panics when p is
// not a parameter the Grads were made for (a programmer error).
func (g *Grads) Of(p *Tensor) *Tensor {
	i, ok := g.index[p]
	if !ok {
		panic("model: gradient requested for a tensor that is not a parameter of this model")
	}
	return g.Tensors[i]
}

// Get returns the gradient of the parameter with the given state-dict key.
func (g *Grads) Get(key string) (*Tensor, bool) {
	for i, k := range g.Keys {
		if k == key {
			return g.Tensors[i], true
		}
	}
	return nil, false
}

// Workspace recycles the buffers of ForwardTrain and Backward across
// training steps: a step with the same input shape as an earlier one
// allocates nothing large. The forward activations live until the next
// ForwardTrainWith on the same workspace (so a TrainPass is valid until
// then); the backward temporaries are returned to the workspace as soon as
// they are dead. A nil *Workspace allocates fresh buffers. Not safe for
// concurrent use.
type Workspace struct {
	fwd  [][]float32 // forward buffers in allocation order
	next int
	free map[int][][]float32 // backward temporaries by length
}

// NewWorkspace returns an empty workspace.
func NewWorkspace() *Workspace { return &Workspace{free: map[int][][]float32{}} }

func (w *Workspace) reset() {
	if w != nil {
		w.next = 0
	}
}

// fwdBuf returns a forward buffer of n values; its contents are garbage
// (every caller overwrites it).
func (w *Workspace) fwdBuf(n int) []float32 {
	if w == nil {
		return make([]float32, n)
	}
	if w.next < len(w.fwd) && cap(w.fwd[w.next]) >= n {
		b := w.fwd[w.next][:n]
		w.next++
		return b
	}
	b := make([]float32, n)
	if w.next < len(w.fwd) {
		w.fwd[w.next] = b
	} else {
		w.fwd = append(w.fwd, b)
	}
	w.next++
	return b
}

func (w *Workspace) fwdTensor(shape ...int) *Tensor {
	return &Tensor{Shape: shape, Data: w.fwdBuf(numel(shape))}
}

// tmp returns a backward temporary of n values (garbage contents).
func (w *Workspace) tmp(n int) []float32 {
	if w == nil {
		return make([]float32, n)
	}
	if l := w.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		w.free[n] = l[:len(l)-1]
		return b
	}
	return make([]float32, n)
}

// tmpZero is tmp cleared.
func (w *Workspace) tmpZero(n int) []float32 {
	b := w.tmp(n)
	if w != nil {
		clear(b)
	}
	return b
}

// put hands a dead backward temporary back.
func (w *Workspace) put(b []float32) {
	if w == nil || b == nil {
		return
	}
	if w.free == nil {
		w.free = map[int][][]float32{}
	}
	w.free[len(b)] = append(w.free[len(b)], b)
}

// TrainPass is one train-mode forward pass: its logits and everything
// Backward needs.
type TrainPass struct {
	Logits *Tensor // [N, num_classes]
	Neck   *Tensor // GlobalAveragePooling output [N, C]

	m      *ImageClassifier
	ws     *Workspace
	blocks []*blockCache
	feat   *Tensor // backbone output [N, C, h, w]
}

// blockCache is what one block's forward saves for its backward.
type blockCache struct {
	b      *MobileOneBlock
	x      *Tensor            // block input
	p      kernels.ConvParams // the block's conv over x
	evalBN bool               // BatchNorms in eval mode (frozen block or norm_eval)
	normSt kernels.BNStats    // branch_norm statistics
	cbs    []*ConvBN          // scale branch then conv branches
	convs  [][]float32        // pre-BN conv outputs of cbs
	stats  []kernels.BNStats  // BN statistics of cbs
	sum    []float32          // pre-SE activation (only with SE)
	pooled []float32          // SE: GAP(sum) [N, C]
	a1     []float32          // SE: ReLU(conv1) [N, sq]
	exc    []float32          // SE: sigmoid(conv2) [N, C]
	out    *Tensor            // block output (after ReLU)
}

// ForwardTrain runs the forward pass in training mode, as
// model.train(); model(x) does in PyTorch: every BatchNorm normalizes with
// the batch's statistics (mean and biased variance over N·H·W) and updates
// its running statistics with momentum m (PyTorch convention:
// running = (1−m)·running + m·batch, the variance being the unbiased batch
// variance) and increments num_batches_tracked. The returned pass holds the
// logits and the activations Backward needs. Works on both graphs (the
// deploy graph has no BatchNorm).
func (m *ImageClassifier) ForwardTrain(x *Tensor) (*TrainPass, error) {
	return m.ForwardTrainWith(nil, x)
}

// ForwardTrainWith is ForwardTrain with its buffers taken from ws (nil:
// fresh allocations). The pass, its Logits and Neck are valid until the next
// ForwardTrainWith on ws.
func (m *ImageClassifier) ForwardTrainWith(ws *Workspace, x *Tensor) (*TrainPass, error) {
	if len(x.Shape) != 4 || x.Shape[1] != 3 || x.Shape[0] < 1 || x.Shape[2] < 1 || x.Shape[3] < 1 || len(x.Data) != x.Numel() {
		return nil, &ShapeError{Got: x.Shape, Want: "[N, 3, H, W]"}
	}
	ws.reset()
	pass := &TrainPass{m: m, ws: ws}
	blocks, _ := m.Blocks()
	h := x
	for i, b := range blocks {
		c := b.forwardTrain(h, ws, m.bnEval(i))
		pass.blocks = append(pass.blocks, c)
		h = c.out
	}
	pass.feat = h
	n, ch := h.Shape[0], h.Shape[1]
	pass.Neck = ws.fwdTensor(n, ch)
	kernels.GlobalAvgPool(pass.Neck.Data, h.Data, n, ch, h.Shape[2]*h.Shape[3])
	pass.Logits = ws.fwdTensor(n, m.Head.FC.Out)
	kernels.Linear(pass.Logits.Data, pass.Neck.Data, m.Head.FC.Weight.Data, m.Head.FC.Bias.Data, n, m.Head.FC.In, m.Head.FC.Out)
	return pass, nil
}

func (b *MobileOneBlock) convParams(x *Tensor) kernels.ConvParams {
	return kernels.ConvParams{N: x.Shape[0], InC: b.In, InH: x.Shape[2], InW: x.Shape[3], OutC: b.Out, KH: b.K, KW: b.K,
		StrideH: b.Stride, StrideW: b.Stride, PadH: b.Padding, PadW: b.Padding, Groups: b.Groups}
}

func newBNStats(c int, ws *Workspace) kernels.BNStats {
	buf := ws.fwdBuf(3 * c)
	return kernels.BNStats{Mean: buf[:c], InvStd: buf[c : 2*c], VarUnbiased: buf[2*c:]}
}

// updateRunning applies PyTorch's running-statistics update (computed in
// float64 like ATen's CPU kernel, stored as float32).
func (bn *BatchNorm2d) updateRunning(st kernels.BNStats) {
	m := float64(bn.Momentum)
	for c := range bn.RunningMean.Data {
		bn.RunningMean.Data[c] = float32(m*float64(st.Mean[c]) + (1-m)*float64(bn.RunningMean.Data[c]))
		bn.RunningVar.Data[c] = float32(m*float64(st.VarUnbiased[c]) + (1-m)*float64(bn.RunningVar.Data[c]))
	}
	bn.NumBatchesTracked++
}

func (b *MobileOneBlock) forwardTrain(x *Tensor, ws *Workspace, evalBN bool) *blockCache {
	p := b.convParams(x)
	n, oh, ow := p.N, p.OutH(), p.OutW()
	hw := oh * ow
	c := &blockCache{b: b, x: x, p: p, evalBN: evalBN}
	out := ws.fwdTensor(n, b.Out, oh, ow)
	c.out = out
	if b.BranchReparam != nil {
		kernels.Conv2D(out.Data, x.Data, b.BranchReparam.Weight.Data, b.BranchReparam.Bias.Data, p, kernels.ActNone)
	} else {
		started := false
		if bn := b.BranchNorm; bn != nil {
			c.normSt = newBNStats(b.In, ws)
			if evalBN {
				bn.evalStats(c.normSt)
				bnEvalForward(out.Data, x.Data, bn, n, b.In, hw, c.normSt, false)
			} else {
				kernels.BatchNormTrain(out.Data, x.Data, bn.Weight.Data, bn.Bias.Data, bn.Eps, n, b.In, hw, c.normSt, false)
				bn.updateRunning(c.normSt)
			}
			started = true
		}
		if b.BranchScale != nil {
			c.cbs = append(c.cbs, b.BranchScale)
		}
		c.cbs = append(c.cbs, b.BranchConvList...)
		for _, cb := range c.cbs {
			conv := ws.fwdBuf(len(out.Data))
			kernels.Conv2D(conv, x.Data, cb.Conv.Weight.Data, nil, cb.Conv.params(n, x.Shape[2], x.Shape[3]), kernels.ActNone)
			st := newBNStats(b.Out, ws)
			if evalBN {
				cb.Norm.evalStats(st)
				bnEvalForward(out.Data, conv, cb.Norm, n, b.Out, hw, st, started)
			} else {
				kernels.BatchNormTrain(out.Data, conv, cb.Norm.Weight.Data, cb.Norm.Bias.Data, cb.Norm.Eps, n, b.Out, hw, st, started)
				cb.Norm.updateRunning(st)
			}
			started = true
			c.convs = append(c.convs, conv)
			c.stats = append(c.stats, st)
		}
	}
	if se := b.SE; se != nil {
		c.sum = ws.fwdBuf(len(out.Data))
		copy(c.sum, out.Data)
		sq := se.Conv1.Out
		c.pooled = ws.fwdBuf(n * b.Out)
		kernels.GlobalAvgPool(c.pooled, c.sum, n, b.Out, hw)
		c.a1 = ws.fwdBuf(n * sq)
		kernels.Conv2D(c.a1, c.pooled, se.Conv1.Weight.Data, se.Conv1.Bias.Data, se.Conv1.params(n, 1, 1), kernels.ActReLU)
		c.exc = ws.fwdBuf(n * b.Out)
		kernels.Conv2D(c.exc, c.a1, se.Conv2.Weight.Data, se.Conv2.Bias.Data, se.Conv2.params(n, 1, 1), kernels.ActNone)
		kernels.Sigmoid(c.exc, c.exc)
		kernels.ScaleChannels(out.Data, c.sum, c.exc, n, b.Out, hw)
	}
	kernels.ReLU(out.Data, out.Data)
	return c
}

// Backward back-propagates dLogits (the gradient of the loss with respect to
// Logits, [N, num_classes]) through the pass and writes the gradient of
// every trainable parameter into g (overwriting it; g must come from
// NewGrads of the same model). The model's parameters must not have changed
// since ForwardTrain.
func (p *TrainPass) Backward(dLogits *Tensor, g *Grads) error {
	m := p.m
	n := p.Logits.Shape[0]
	k := m.Head.FC.Out
	if !dLogits.SameShape(p.Logits.Shape) {
		return &ShapeError{Got: dLogits.Shape, Want: fmt.Sprintf("%v (the logits' shape)", p.Logits.Shape)}
	}
	fc := m.Head.FC
	// Linear: dW = dLᵀ·neck, db = Σ dL, dneck = dL·W.
	kernels.Gemm(g.Of(fc.Weight).Data, dLogits.Data, p.Neck.Data, kernels.GemmParams{M: k, N: fc.In, K: n, TransA: true})
	kernels.BiasBackward(g.Of(fc.Bias).Data, dLogits.Data, n, k, 1)
	ws := p.ws
	dNeck := ws.tmp(n * fc.In)
	kernels.Gemm(dNeck, dLogits.Data, fc.Weight.Data, kernels.GemmParams{M: n, N: fc.In, K: k})
	f := p.feat
	dh := ws.tmp(len(f.Data))
	kernels.GlobalAvgPoolBackward(dh, dNeck, n, f.Shape[1], f.Shape[2]*f.Shape[3], false)
	ws.put(dNeck)
	// Frozen blocks (frozen_stages) get no gradients, and nothing before
	// them needs any.
	nf := m.frozenBlocks()
	for i := len(p.blocks) - 1; i >= nf; i-- {
		next := p.blocks[i].backward(dh, g, i > nf, ws)
		ws.put(dh)
		dh = next
	}
	ws.put(dh)
	return nil
}

// backward turns the gradient of the block output into parameter gradients
// and (when needInput) the gradient of the block input. dOut is clobbered.
func (c *blockCache) backward(dOut []float32, g *Grads, needInput bool, ws *Workspace) []float32 {
	b, p := c.b, c.p
	n, hw := p.N, p.OutH()*p.OutW()
	// ReLU: the output is > 0 exactly where its input is.
	kernels.ReLUBackward(dOut, dOut, c.out.Data)
	ds := dOut
	if se := b.SE; se != nil {
		ds = c.seBackward(dOut, g, ws)
		defer ws.put(ds)
	}
	if b.BranchReparam != nil {
		var dx []float32
		if needInput {
			dx = ws.tmp(len(c.x.Data))
		}
		conv := b.BranchReparam
		kernels.Conv2DBackwardWeight(g.Of(conv.Weight).Data, c.x.Data, ds, p)
		kernels.BiasBackward(g.Of(conv.Bias).Data, ds, n, b.Out, hw)
		if needInput {
			kernels.Conv2DBackwardData(dx, ds, conv.Weight.Data, p)
		}
		return dx
	}
	// dx is written by the first contribution (a conv branch's input
	// gradient, or the skip BatchNorm's when there is no conv branch) and
	// the others are added to it.
	var dx, tmp []float32
	haveDx := false
	if needInput {
		dx = ws.tmp(len(c.x.Data))
		if len(c.cbs) > 1 || (len(c.cbs) == 1 && b.BranchNorm != nil) {
			tmp = ws.tmp(len(c.x.Data))
			defer ws.put(tmp)
		}
	}
	dConv := ws.tmp(len(ds))
	defer ws.put(dConv)
	for i, cb := range c.cbs {
		if c.evalBN {
			bnEvalBackward(dConv, g.Of(cb.Norm.Weight).Data, g.Of(cb.Norm.Bias).Data, ds, c.convs[i], cb.Norm.Weight.Data, n, b.Out, hw, c.stats[i], false)
		} else {
			kernels.BatchNormTrainBackwardTo(dConv, g.Of(cb.Norm.Weight).Data, g.Of(cb.Norm.Bias).Data, ds, c.convs[i], cb.Norm.Weight.Data, n, b.Out, hw, c.stats[i])
		}
		cp := cb.Conv.params(n, c.x.Shape[2], c.x.Shape[3])
		kernels.Conv2DBackwardWeight(g.Of(cb.Conv.Weight).Data, c.x.Data, dConv, cp)
		if needInput {
			if !haveDx {
				kernels.Conv2DBackwardData(dx, dConv, cb.Conv.Weight.Data, cp)
				haveDx = true
			} else {
				kernels.Conv2DBackwardData(tmp, dConv, cb.Conv.Weight.Data, cp)
				kernels.Add(dx, dx, tmp)
			}
		}
	}
	if bn := b.BranchNorm; bn != nil {
		var bdx []float32
		if needInput {
			bdx = dx
		}
		switch {
		case c.evalBN:
			bnEvalBackward(bdx, g.Of(bn.Weight).Data, g.Of(bn.Bias).Data, ds, c.x.Data, bn.Weight.Data, n, b.In, hw, c.normSt, haveDx)
			haveDx = haveDx || needInput
		case needInput && !haveDx:
			kernels.BatchNormTrainBackwardTo(bdx, g.Of(bn.Weight).Data, g.Of(bn.Bias).Data, ds, c.x.Data, bn.Weight.Data, n, b.In, hw, c.normSt)
			haveDx = true
		default:
			kernels.BatchNormTrainBackward(bdx, g.Of(bn.Weight).Data, g.Of(bn.Bias).Data, ds, c.x.Data, bn.Weight.Data, n, b.In, hw, c.normSt)
		}
	}
	if needInput && !haveDx {
		clear(dx)
	}
	return dx
}

// seBackward back-propagates dy (gradient of y = sum·exc) through the SE
// layer, returning the gradient of the pre-SE sum.
func (c *blockCache) seBackward(dy []float32, g *Grads, ws *Workspace) []float32 {
	se := c.b.SE
	n, ch, hw := c.p.N, c.b.Out, c.p.OutH()*c.p.OutW()
	sq := se.Conv1.Out
	ds := ws.tmp(len(dy))
	dz2 := ws.tmp(n * ch)
	defer ws.put(dz2)
	for i := 0; i < n*ch; i++ {
		e := c.exc[i]
		var de float64
		src, d := c.sum[i*hw:(i+1)*hw], dy[i*hw:(i+1)*hw]
		dst := ds[i*hw : (i+1)*hw]
		for j, v := range src {
			de += float64(d[j]) * float64(v)
			dst[j] = d[j] * e
		}
		dz2[i] = float32(de) * e * (1 - e)
	}
	w1, w2 := se.Conv1.Weight.Data, se.Conv2.Weight.Data // [sq, ch], [ch, sq]
	dw1, db1 := g.Of(se.Conv1.Weight).Data, g.Of(se.Conv1.Bias).Data
	dw2, db2 := g.Of(se.Conv2.Weight).Data, g.Of(se.Conv2.Bias).Data
	// conv2: z2[n,c] = Σ_s w2[c,s]·a1[n,s] + b2[c]
	kernels.Gemm(dw2, dz2, c.a1, kernels.GemmParams{M: ch, N: sq, K: n, TransA: true})
	kernels.BiasBackward(db2, dz2, n, ch, 1)
	da1 := ws.tmp(n * sq)
	defer ws.put(da1)
	kernels.Gemm(da1, dz2, w2, kernels.GemmParams{M: n, N: sq, K: ch})
	kernels.ReLUBackward(da1, da1, c.a1)
	// conv1: z1[n,s] = Σ_c w1[s,c]·pooled[n,c] + b1[s]
	kernels.Gemm(dw1, da1, c.pooled, kernels.GemmParams{M: sq, N: ch, K: n, TransA: true})
	kernels.BiasBackward(db1, da1, n, sq, 1)
	dPooled := ws.tmp(n * ch)
	defer ws.put(dPooled)
	kernels.Gemm(dPooled, da1, w1, kernels.GemmParams{M: n, N: ch, K: sq})
	kernels.GlobalAvgPoolBackward(ds, dPooled, n, ch, hw, true)
	return ds
}
