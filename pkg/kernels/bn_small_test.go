package kernels

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestBatchNormSmallPlanesMatchPlanePath checks the small-plane BatchNorm
// path (channel blocks, images outermost) against the per-plane path, on
// both train-mode passes, with and without accumulate, and the
// overwriting backward against the accumulating one.
func TestBatchNormSmallPlanesMatchPlanePath(t *testing.T) {
	for _, th := range []int{1, 2} {
		defer SetThreads(SetThreads(th))
		r := rand.New(rand.NewSource(51))
		for _, hw := range []int{1, 2, 4, 7, 9, 15} {
			for _, acc := range []bool{false, true} {
				n, c := 5, 131 // several channel blocks, an odd count
				x, w, b, g := randSlice(r, n*c*hw), randSlice(r, c), randSlice(r, c), randSlice(r, n*c*hw)
				for i := range x {
					x[i] = x[i]*3 + 2
				}
				base := randSlice(r, n*c*hw)
				type res struct {
					out, dx, dxTo, dw, db []float32
					st                    BNStats
				}
				run := func() res {
					st := BNStats{Mean: make([]float32, c), InvStd: make([]float32, c), VarUnbiased: make([]float32, c)}
					out := append([]float32(nil), base...)
					BatchNormTrain(out, x, w, b, 1e-5, n, c, hw, st, acc)
					dx := append([]float32(nil), base...)
					dw, db := make([]float32, c), make([]float32, c)
					BatchNormTrainBackward(dx, dw, db, g, x, w, n, c, hw, st)
					dxTo := append([]float32(nil), base...)
					BatchNormTrainBackwardTo(dxTo, make([]float32, c), make([]float32, c), g, x, w, n, c, hw, st)
					for i := range dxTo {
						dxTo[i] += base[i]
					}
					return res{out, dx, dxTo, dw, db, st}
				}
				small := run()
				old := bnSmallHW
				bnSmallHW = 0
				plane := run()
				bnSmallHW = old
				name := fmt.Sprintf("t%d hw=%d acc=%v", th, hw, acc)
				for _, pair := range []struct {
					what      string
					got, want []float32
				}{
					{"out", small.out, plane.out}, {"dx", small.dx, plane.dx}, {"dxTo", small.dxTo, plane.dx}, {"dweight", small.dw, plane.dw}, {"dbias", small.db, plane.db},
					{"mean", small.st.Mean, plane.st.Mean}, {"invstd", small.st.InvStd, plane.st.InvStd}, {"var", small.st.VarUnbiased, plane.st.VarUnbiased},
				} {
					if e, at := maxRelErr(pair.got, pair.want); e > 1e-5 {
						t.Fatalf("%s %s: rel err %g at %d", name, pair.what, e, at)
					}
				}
			}
		}
	}
}
