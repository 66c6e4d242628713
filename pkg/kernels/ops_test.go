package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestGlobalAvgPool: every output is the float64 sum of its plane in order,
// divided by the plane size, bit for bit, whatever the plane count (the
// four-at-a-time loop and its tail) and size.
func TestGlobalAvgPool(t *testing.T) {
	r := rand.New(rand.NewSource(40))
	for _, hw := range []int{1, 2, 49, 196, 3136} {
		for planes := 1; planes <= 9; planes++ {
			x := randSlice(r, planes*hw)
			for i := range x {
				x[i] *= float32(math.Exp(4 * r.NormFloat64())) // wide range: rounding order shows
			}
			got := make([]float32, planes)
			GlobalAvgPool(got, x, 1, planes, hw)
			for i := range got {
				var s float64
				for _, v := range x[i*hw : (i+1)*hw] {
					s += float64(v)
				}
				if want := float32(s / float64(hw)); math.Float32bits(got[i]) != math.Float32bits(want) {
					t.Fatalf("hw %d planes %d: plane %d is %v, want %v", hw, planes, i, got[i], want)
				}
			}
		}
	}
}
