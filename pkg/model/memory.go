package model

import (
	"fmt"

	"github.com/mobileone-go/mobileone/internal/memlimit"
	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// ActivationBytes estimates the peak memory of an eval forward pass of n
// images of h×w: the input, and at the largest block its input, its
// output and the same again for the branches of the train-time graph and
// the kernels' scratch (an upper estimate: the deploy graph needs less).
// Overflow saturates at 2⁶².
func (m *ImageClassifier) ActivationBytes(n, h, w int) int64 {
	mul := func(a ...int64) int64 {
		p := int64(1)
		for _, v := range a {
			if v != 0 && p > (1<<62)/v {
				return 1 << 62
			}
			p *= v
		}
		return p
	}
	// add and mul saturate at 2⁶² (operands are at most that)
	add := func(a, b int64) int64 {
		if a > 1<<62-b {
			return 1 << 62
		}
		return a + b
	}
	input := mul(int64(n), 3, int64(h), int64(w))
	peak := int64(0)
	c := int64(3)
	// block by block without Blocks(), which names them: Forward checks
	// its memory on every call
	block := func(b *MobileOneBlock) {
		oh, ow := (h+2*b.Padding-b.K)/b.Stride+1, (w+2*b.Padding-b.K)/b.Stride+1
		in := mul(int64(n), c, int64(h), int64(w))
		out := mul(int64(n), int64(b.Out), int64(max(oh, 1)), int64(max(ow, 1)))
		if s := add(in, mul(3, out)); s > peak {
			peak = s
		}
		h, w, c = oh, ow, int64(b.Out)
	}
	block(m.Backbone.Stage0)
	for _, stage := range m.Backbone.Stages {
		for _, b := range stage {
			block(b)
		}
	}
	return mul(4, add(input, peak)) // float32
}

// predictBytes estimates the peak memory of Predictor.Forward on n images
// of h×w with threads goroutines: a batch runs image by image, so the
// batch's input plus one image's activations (ActivationBytes without its
// input) on each goroutine that runs at once. Overflow saturates.
func (m *ImageClassifier) predictBytes(n, h, w, threads int) int64 {
	if n <= 1 {
		return m.ActivationBytes(n, h, w)
	}
	hw := int64(h) * int64(w) // h, w < 2³¹ (the flags' bound)
	if hw > (1<<58)/12 {
		return 1 << 62
	}
	in1 := 4 * 3 * hw
	per := m.ActivationBytes(1, h, w) - in1
	g := int64(min(threads, n))
	if per >= (1<<61)/g || in1 >= (1<<61)/int64(n) {
		return 1 << 62
	}
	return int64(n)*in1 + g*per
}

// CheckMemory returns a *memlimit.Error when Forward on n images of h×w
// would need more memory than the process's budget; it allocates nothing.
func (p *Predictor) CheckMemory(n, h, w int) error {
	return memlimit.Check(func() string { return fmt.Sprintf("the forward pass of %d image(s) of %dx%d", n, h, w) },
		p.m.predictBytes(n, h, w, kernels.Threads()))
}
