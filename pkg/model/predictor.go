package model

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// Predictor runs the eval-mode forward pass with every conv's weights, and
// the head's fc as a 1×1 conv, re-laid out once for the fast kernels
// (kernels.PackedConv), as an inference engine does at load time. It
// snapshots the weights: build a new Predictor after changing the model.
// It is safe for concurrent use.
type Predictor struct {
	m    *ImageClassifier
	head *Conv2d // the head's fc as a 1×1 conv (shares its tensors)

	mu      sync.Mutex
	packed  map[packKey]*kernels.PackedConv
	buffers sync.Pool // *freeList, one per concurrent Forward

	// blocked lists the backbone's convs when images run on blocked
	// activations (blocked.go), else nil.
	blocked      []*MobileOneBlock
	blockedConvs map[blockedKey]*kernels.BlockedConv
}

type packKey struct {
	conv    *Conv2d
	h, w, n int
}

// NewPredictor returns a Predictor for m (either graph).
func (m *ImageClassifier) NewPredictor() *Predictor {
	fc := m.Head.FC
	head := &Conv2d{In: fc.In, Out: fc.Out, K: 1, Stride: 1, Groups: 1, Bias: fc.Bias,
		Weight: &Tensor{Shape: []int{fc.Out, fc.In, 1, 1}, Data: fc.Weight.Data}}
	return &Predictor{m: m, head: head, packed: map[packKey]*kernels.PackedConv{},
		blocked: blockedBlocks(m), blockedConvs: map[blockedKey]*kernels.BlockedConv{}}
}

// env is the eval environment of the Predictor's forward passes.
func (p *Predictor) env(fl *freeList) evalEnv {
	return evalEnv{conv: p.conv, buffers: fl, head: p.head}
}

// Forward is ImageClassifier.Forward with packed weights. Activation
// buffers are recycled across calls; the returned logits are the caller's.
func (p *Predictor) Forward(x *Tensor) (*Tensor, error) {
	if err := checkInput(x); err != nil {
		return nil, err
	}
	logits := NewTensor(x.Shape[0], p.NumClasses())
	if err := p.ForwardInto(logits.Data, x); err != nil {
		return nil, err
	}
	return logits, nil
}

// ForwardInto is Forward writing the logits into dst, N rows of
// NumClasses values, instead of a new tensor: a caller that runs batch
// after batch keeps one buffer. On this VM every newly touched 4 KB page
// costs ~12 µs to fault in, and the Go heap hands a fresh tensor new pages
// time and again: s0's 32×1000 logits took 25-30 faults per batch.
func (p *Predictor) ForwardInto(dst []float32, x *Tensor) error {
	if err := checkInput(x); err != nil {
		return err
	}
	n := x.Shape[0]
	if need := n * p.NumClasses(); len(dst) < need {
		return fmt.Errorf("model: logits buffer holds %d values, %d images × %d classes need %d", len(dst), n, p.NumClasses(), need)
	}
	if err := p.CheckMemory(n, x.Shape[2], x.Shape[3]); err != nil {
		return err
	}
	fl := p.freeList()
	defer p.buffers.Put(fl)
	if n > 1 {
		p.forwardImages(dst, x, fl)
		return nil
	}
	if p.blocked != nil {
		neck := fl.get(p.head.In)
		defer fl.put(neck)
		p.neckBlocked(neck, x.Data, x.Shape[2], x.Shape[3], fl, nil, nil)
		p.headLogits(dst, neck, 1)
		return nil
	}
	out, err := p.m.forwardEval(x, p.env(fl), false)
	if err != nil {
		return err
	}
	copy(dst, out.Logits.Data)
	return nil
}

// freeList takes a buffer free list from the pool (give it back with
// p.buffers.Put).
func (p *Predictor) freeList() *freeList {
	if fl, ok := p.buffers.Get().(*freeList); ok {
		return fl
	}
	return &freeList{}
}

// forwardImages runs a batch image by image: Threads() goroutines each take
// the next image and run its backbone and neck with unsplit kernels, then
// the head runs once on the whole batch (its weights read once). Going
// layer by layer over the whole batch instead moves every early layer's
// activations through memory (~77 MB for 32 images at 224×224) and splits
// each kernel with a barrier after it; one image's activations stay in the
// caches. `mobileone benchmark` s0 deploy, batch 32, Zen 5, interleaved:
// 1 thread 127-129 -> 107-108 ms, 2 threads 65-76 -> 59-60 ms. The logits
// are the same bit for bit (each image's sums do not depend on the batch
// or the split; TestPredictorBatchIsExact).
//
// The last images do not leave cores idle: once a goroutine finds no image
// left, it wakes the kernel workers and exits, and the last goroutine
// splits its remaining blocks over Threads() as at batch 1. With one image
// taking ~2.9 ms (s0), the goroutines ran out 0-2.7 ms apart.
func (p *Predictor) forwardImages(logits []float32, x *Tensor, fl *freeList) {
	n, per := x.Shape[0], len(x.Data)/x.Shape[0]
	c := p.head.In
	neck := fl.get(n * c)
	defer fl.put(neck)
	goroutines := min(kernels.Threads(), n)
	var next atomic.Int64
	var running atomic.Int32 // goroutines still taking images
	running.Store(int32(goroutines))
	shared := func() bool { return running.Load() > 1 } // serial kernels while others run
	work := func(fl *freeList) {
		env := evalEnv{conv: p.convSerial, buffers: fl}
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				break
			}
			if p.blocked != nil {
				p.neckBlocked(neck[i*c:(i+1)*c], x.Data[i*per:(i+1)*per], x.Shape[2], x.Shape[3], fl, shared, nil)
				continue
			}
			img := &Tensor{Shape: []int{1, x.Shape[1], x.Shape[2], x.Shape[3]}, Data: x.Data[i*per : (i+1)*per]}
			h := p.m.backboneEval(img, env)
			kernels.GlobalAvgPool(neck[i*c:(i+1)*c], h.Data, 1, c, h.Shape[2]*h.Shape[3])
			env.put(h.Data)
		}
		if running.Add(-1) == 1 {
			kernels.Wake() // the last goroutine's blocks and the head split
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < goroutines; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wfl := p.freeList()
			work(wfl)
			p.buffers.Put(wfl)
		}()
	}
	work(fl)
	wg.Wait()
	p.headLogits(logits, neck, n)
}

// ForwardAll is ImageClassifier.ForwardAll with packed weights.
func (p *Predictor) ForwardAll(x *Tensor) (Outputs, error) {
	if err := checkInput(x); err != nil {
		return Outputs{}, err
	}
	return p.m.forwardEval(x, p.env(nil), true)
}

// conv runs c through its PackedConv for this geometry, packing the weights
// the first time c is seen (the packed panels are shared across input
// sizes and batch sizes).
func (p *Predictor) conv(c *Conv2d, out, in []float32, cp kernels.ConvParams, act kernels.Activation) {
	p.packedConv(c, cp).Forward(out, in, act)
}

// convSerial is conv on the calling goroutine only.
func (p *Predictor) convSerial(c *Conv2d, out, in []float32, cp kernels.ConvParams, act kernels.Activation) {
	p.packedConv(c, cp).ForwardSerial(out, in, act)
}

// packedConv returns c's PackedConv for geometry cp, packing it the first
// time.
func (p *Predictor) packedConv(c *Conv2d, cp kernels.ConvParams) *kernels.PackedConv {
	key := packKey{c, cp.InH, cp.InW, cp.N}
	p.mu.Lock()
	pc, ok := p.packed[key]
	if !ok {
		var base *kernels.PackedConv
		for k, v := range p.packed {
			if k.conv == c && k.h == cp.InH && k.w == cp.InW {
				base = v
				break
			}
		}
		if base != nil {
			pc = base.WithBatch(cp.N)
		} else {
			var bias []float32
			if c.Bias != nil {
				bias = c.Bias.Data
			}
			pc = kernels.NewPackedConv(c.Weight.Data, bias, cp)
		}
		p.packed[key] = pc
	}
	p.mu.Unlock()
	return pc
}

// NumClasses is the model's number of classes.
func (p *Predictor) NumClasses() int { return p.m.NumClasses() }

// StageTime is the wall time one part of the forward pass took.
type StageTime struct {
	Name    string
	Seconds float64
}

// ProfileStages runs one forward pass and returns the time of stage0,
// stage1..stage4 and the neck with the head, on the layout Forward uses.
func (p *Predictor) ProfileStages(x *Tensor) ([]StageTime, error) {
	if err := checkInput(x); err != nil {
		return nil, err
	}
	if p.blocked != nil {
		return p.profileBlocked(x), nil
	}
	var out []StageTime
	t0 := time.Now()
	env := p.env(nil)
	h := p.m.Backbone.Stage0.forwardEval(x, env)
	out = append(out, StageTime{"backbone.stage0", time.Since(t0).Seconds()})
	for s, stage := range p.m.Backbone.Stages {
		t0 = time.Now()
		for _, b := range stage {
			h = b.forwardEval(h, env)
		}
		out = append(out, StageTime{fmt.Sprintf("backbone.stage%d", s+1), time.Since(t0).Seconds()})
	}
	t0 = time.Now()
	p.m.neckHead(h, env)
	out = append(out, StageTime{"neck+head", time.Since(t0).Seconds()})
	return out, nil
}
