package model

import (
	"fmt"

	"github.com/mobileone-go/mobileone/internal/memlimit"
)

// ActivationBytes estimates the peak memory of an eval forward pass of n
// images of h×w: the input, and at the largest block its input, its
// output and the same again for the branches of the train-time graph and
// the kernels' scratch (an upper estimate: the deploy graph needs less).
// Overflow saturates at the largest int64.
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
	input := mul(int64(n), 3, int64(h), int64(w))
	peak := int64(0)
	c := int64(3)
	blocks, _ := m.Blocks()
	for _, b := range blocks {
		oh, ow := (h+2*b.Padding-b.K)/b.Stride+1, (w+2*b.Padding-b.K)/b.Stride+1
		in := mul(int64(n), c, int64(h), int64(w))
		out := mul(int64(n), int64(b.Out), int64(max(oh, 1)), int64(max(ow, 1)))
		if s := in + 3*out; s > peak {
			peak = s
		}
		h, w, c = oh, ow, int64(b.Out)
	}
	total := input + peak
	if total >= 1<<61 {
		return 1 << 62
	}
	return 4 * total // float32
}

// CheckMemory returns a *memlimit.Error when a forward pass of n images of
// h×w would need more memory than the process's budget; it allocates
// nothing.
func (m *ImageClassifier) CheckMemory(n, h, w int) error {
	return memlimit.Check(fmt.Sprintf("the forward pass of %d image(s) of %dx%d", n, h, w), m.ActivationBytes(n, h, w))
}
