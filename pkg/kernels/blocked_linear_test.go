package kernels

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestLinearMatchesForward: Linear on n rows gives each row the logits of
// Forward on that row alone, bit for bit on every path, with one and two
// threads, for heads whose output count is and is not a multiple of 16.
func TestLinearMatchesForward(t *testing.T) {
	r := rand.New(rand.NewSource(41))
	for _, s := range []struct{ in, out int }{{1024, 1000}, {64, 10}, {256, 32}, {2048, 1000}} {
		p := ConvParams{N: 1, InC: s.in, InH: 1, InW: 1, OutC: s.out, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
		c := NewBlockedConv(randSlice(r, p.WeightSize()), randSlice(r, s.out), p)
		for _, n := range []int{1, 2, 5, 13, 32, 40} {
			x := randSlice(r, n*s.in)
			want := make([]float32, n*s.out)
			for i := 0; i < n; i++ {
				c.ForwardSerial(want[i*s.out:(i+1)*s.out], x[i*s.in:(i+1)*s.in], ActNone)
			}
			for _, th := range []int{1, 2} {
				t.Run(fmt.Sprintf("%dx%d/n=%d/threads=%d", s.in, s.out, n, th), func(t *testing.T) {
					defer SetThreads(SetThreads(th))
					got := make([]float32, n*s.out+1)
					got[n*s.out] = 42 // past the end: untouched
					c.Linear(got, x, n)
					for i, v := range want {
						if got[i] != v {
							t.Fatalf("row %d output %d: %v, alone %v", i/s.out, i%s.out, got[i], v)
						}
					}
					if got[n*s.out] != 42 {
						t.Errorf("Linear wrote past n rows")
					}
				})
			}
		}
	}
}

// TestLinearRefusesOtherConvs: Linear is for a pointwise conv on one 1×1
// plane; anything else is a programming error, reported as such.
func TestLinearRefusesOtherConvs(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	p := ConvParams{N: 1, InC: 16, InH: 2, InW: 2, OutC: 16, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
	c := NewBlockedConv(randSlice(r, p.WeightSize()), nil, p)
	defer func() {
		if recover() == nil {
			t.Error("Linear on a 2×2 plane did not panic")
		}
	}()
	c.Linear(make([]float32, 16), make([]float32, 16), 1)
}
