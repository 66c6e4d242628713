package kernels

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestBatchNormTrainFastMatchesGo runs train-mode BatchNorm forward and
// backward on the vector bodies and on the portable loops, on plane sizes
// around the 8-float vector width, with and without accumulate, and
// checks outputs, statistics and gradients agree (the float64 sums are
// taken in another order, so the last float32 bit may differ).
func TestBatchNormTrainFastMatchesGo(t *testing.T) {
	if !useAVX2 {
		t.Skipf("no assembly kernels in this build or on this CPU (%s)", FastPath())
	}
	r := rand.New(rand.NewSource(50))
	for _, hw := range []int{1, 7, 8, 9, 15, 16, 17, 49, 196} {
		for _, acc := range []bool{false, true} {
			n, c := 3, 5
			x, w, b, g := randSlice(r, n*c*hw), randSlice(r, c), randSlice(r, c), randSlice(r, n*c*hw)
			for i := range x {
				x[i] = x[i]*3 + 2 // a mean away from 0
			}
			base := randSlice(r, n*c*hw)
			type res struct {
				out, dx, dw, db []float32
				st              BNStats
			}
			run := func() res {
				st := BNStats{Mean: make([]float32, c), InvStd: make([]float32, c), VarUnbiased: make([]float32, c)}
				out, check := withGuard(r, n*c*hw)
				copy(out, base)
				BatchNormTrain(out, x, w, b, 1e-5, n, c, hw, st, acc)
				check(t, "BatchNormTrain")
				dx, checkDx := withGuard(r, n*c*hw)
				copy(dx, base)
				dw, db := make([]float32, c), make([]float32, c)
				BatchNormTrainBackward(dx, dw, db, g, x, w, n, c, hw, st)
				checkDx(t, "BatchNormTrainBackward")
				return res{out, dx, dw, db, st}
			}
			fast := run()
			restore := disableAVX2()
			slow := run()
			restore()
			name := fmt.Sprintf("hw=%d acc=%v", hw, acc)
			for _, pair := range []struct {
				what      string
				got, want []float32
			}{
				{"out", fast.out, slow.out}, {"dx", fast.dx, slow.dx}, {"dweight", fast.dw, slow.dw}, {"dbias", fast.db, slow.db},
				{"mean", fast.st.Mean, slow.st.Mean}, {"invstd", fast.st.InvStd, slow.st.InvStd}, {"var", fast.st.VarUnbiased, slow.st.VarUnbiased},
			} {
				if e, at := maxRelErr(pair.got, pair.want); e > 1e-5 {
					t.Fatalf("%s %s: rel err %g at %d", name, pair.what, e, at)
				}
			}
		}
	}
}
