package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestElementwiseMatchesLoops checks ReLU, ReLUBackward and Add against
// the plain loops bit for bit on every length up to 80 (vector bodies and
// tails), with NaN, ±0 and guard bands, in place and out of place.
func TestElementwiseMatchesLoops(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(40))
		nan := float32(math.NaN())
		negZero := float32(math.Copysign(0, -1))
		special := []float32{nan, 0, negZero, 1, -1}
		for n := 0; n <= 80; n++ {
			x, y, d := randSlice(r, n), randSlice(r, n), randSlice(r, n)
			for i := 0; i < n; i += 7 {
				x[i], y[i] = special[i%5], special[(i+2)%5]
			}
			wantRelu, wantRB, wantAdd := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				v := x[i]
				if v < 0 {
					v = 0
				}
				wantRelu[i] = v
				if y[i] > 0 {
					wantRB[i] = d[i]
				}
				wantAdd[i] = x[i] + y[i]
			}
			same := func(what string, got, want []float32) {
				t.Helper()
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
						t.Fatalf("%s n=%d: [%d] = %v, want %v", what, n, i, got[i], want[i])
					}
				}
			}
			got, check := withGuard(r, n)
			ReLU(got, x)
			check(t, "ReLU")
			same("ReLU", got, wantRelu)
			got, check = withGuard(r, n)
			ReLUBackward(got, d, y)
			check(t, "ReLUBackward")
			same("ReLUBackward", got, wantRB)
			got, check = withGuard(r, n)
			Add(got, x, y)
			check(t, "Add")
			same("Add", got, wantAdd)
			// in place
			xc, dc := append([]float32(nil), x...), append([]float32(nil), d...)
			ReLU(xc, xc)
			same("ReLU in place", xc, wantRelu)
			ReLUBackward(dc, dc, y)
			same("ReLUBackward in place", dc, wantRB)
			xc = append(xc[:0], x...)
			Add(xc, xc, y)
			same("Add in place", xc, wantAdd)
		}
	})
}
