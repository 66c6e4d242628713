package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkBNShapes times train-mode BatchNorm on the 32×32-input shapes of s0
// (batch 64), from 8×8 planes down to 1×1.
func BenchmarkBNShapes(b *testing.B) {
	for _, s := range [][2]int{{48, 64}, {128, 16}, {256, 4}, {1024, 1}} {
		c, hw := s[0], s[1]
		n := 64
		x := make([]float32, n*c*hw)
		for i := range x {
			x[i] = float32(i%17) * 0.1
		}
		out := make([]float32, len(x))
		w, bb := make([]float32, c), make([]float32, c)
		st := BNStats{make([]float32, c), make([]float32, c), make([]float32, c)}
		b.Run(fmt.Sprintf("fwd_c%d_hw%d", c, hw), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				BatchNormTrain(out, x, w, bb, 1e-5, n, c, hw, st, true)
			}
		})
		b.Run(fmt.Sprintf("bwd_c%d_hw%d", c, hw), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				BatchNormTrainBackwardTo(out, w, bb, x, x, w, n, c, hw, st)
			}
		})
	}
}
