package kernels

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestPointwiseBatchedForward checks the batched small-plane pointwise
// Conv2D (one GEMM over the batch) against the reference.
func TestPointwiseBatchedForward(t *testing.T) {
	for _, th := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("t%d", th), func(t *testing.T) {
			defer SetThreads(SetThreads(th))
			r := rand.New(rand.NewSource(31))
			for _, n := range []int{2, 5} {
				for _, hw := range [][2]int{{1, 1}, {2, 2}, {4, 4}, {3, 5}, {7, 9}} {
					for _, act := range []Activation{ActNone, ActReLU} {
						p := ConvParams{N: n, InC: 19, InH: hw[0], InW: hw[1], OutC: 27, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
						x, w, b := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
						want := make([]float32, p.OutSize())
						Conv2DRef(want, x, w, b, p, act)
						got := make([]float32, p.OutSize())
						Conv2D(got, x, w, b, p, act)
						if e, at := maxRelErr(got, want); e > 2e-5 {
							t.Fatalf("%+v: rel err %g at %d", p, e, at)
						}
						pc := NewPackedConv(w, b, p)
						clear(got)
						pc.Forward(got, x, act)
						if e, at := maxRelErr(got, want); e > 2e-5 {
							t.Fatalf("%+v packed: rel err %g at %d", p, e, at)
						}
					}
				}
			}
		})
	}
}
