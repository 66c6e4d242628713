package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/mobileone-go/mobileone/internal/race"
)

// bwdCase checks Conv2DBackwardData and Conv2DBackwardWeight against the
// references with guard bands and unchanged inputs.
func bwdCase(t *testing.T, r *rand.Rand, p ConvParams) {
	t.Helper()
	x, w, dy := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutSize())
	x0, w0, dy0 := append([]float32(nil), x...), append([]float32(nil), w...), append([]float32(nil), dy...)
	want := make([]float32, p.InSize())
	Conv2DBackwardDataRef(want, dy, w, p)
	got, check := withGuard(r, p.InSize())
	Conv2DBackwardData(got, dy, w, p)
	check(t, fmt.Sprintf("%+v dX", p))
	if e, at := maxRelErr(got, want); e > 2e-5 {
		t.Fatalf("%+v: backward data rel err %g at %d", p, e, at)
	}
	wantW := make([]float32, p.WeightSize())
	Conv2DBackwardWeightRef(wantW, x, dy, p)
	gotW, checkW := withGuard(r, p.WeightSize())
	Conv2DBackwardWeight(gotW, x, dy, p)
	checkW(t, fmt.Sprintf("%+v dW", p))
	tol := 2e-5 * max(1, float64(p.N*p.OutH()*p.OutW())/256)
	if e, at := maxRelErr(gotW, wantW); e > tol {
		t.Fatalf("%+v: backward weight rel err %g at %d", p, e, at)
	}
	if !equalSlices(x, x0) || !equalSlices(w, w0) || !equalSlices(dy, dy0) {
		t.Fatalf("%+v: inputs modified", p)
	}
}

func TestConvBackwardFastShapes(t *testing.T) {
	old := dwSplitMin
	dwSplitMin = 0 // split every weight gradient when threads > 1
	defer func() { dwSplitMin = old }()
	for _, th := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("t%d", th), func(t *testing.T) {
			defer SetThreads(SetThreads(th))
			paths(t, func(t *testing.T) {
				r := rand.New(rand.NewSource(30))
				for _, n := range []int{1, 3} {
					for _, s := range []int{1, 2} {
						for _, hw := range [][2]int{{1, 1}, {1, 2}, {2, 3}, {3, 7}, {3, 8}, {2, 9}, {5, 9}, {6, 11}, {4, 16}, {7, 17}, {8, 18}, {5, 19}, {3, 24}, {9, 33}, {4, 40}} {
							bwdCase(t, r, ConvParams{N: n, InC: 5, InH: hw[0], InW: hw[1], OutC: 5, KH: 3, KW: 3, StrideH: s, StrideW: s, PadH: 1, PadW: 1, Groups: 5})
						}
					}
					for _, p := range []ConvParams{
						{N: n, InC: 40, InH: 9, InW: 13, OutC: 70, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},
						{N: n, InC: 13, InH: 3, InW: 5, OutC: 7, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},
						{N: n, InC: 9, InH: 4, InW: 6, OutC: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},
						{N: n, InC: 33, InH: 1, InW: 1, OutC: 20, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},
						{N: n, InC: 20, InH: 2, InW: 2, OutC: 37, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},
						{N: n, InC: 16, InH: 4, InW: 4, OutC: 24, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},
						{N: n, InC: 2, InH: 5, InW: 9, OutC: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1},
						{N: n, InC: 3, InH: 17, InW: 19, OutC: 13, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1},
						{N: n, InC: 8, InH: 9, InW: 7, OutC: 30, KH: 1, KW: 1, StrideH: 2, StrideW: 2, Groups: 1},
						{N: n, InC: 6, InH: 9, InW: 10, OutC: 6, KH: 1, KW: 1, StrideH: 2, StrideW: 2, Groups: 6},
						{N: n, InC: 6, InH: 7, InW: 9, OutC: 6, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 6},
						{N: n, InC: 4, InH: 7, InW: 9, OutC: 4, KH: 1, KW: 1, StrideH: 2, StrideW: 1, Groups: 4},
						{N: n, InC: 8, InH: 7, InW: 7, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 2},
					} {
						bwdCase(t, r, p)
					}
				}
			})
		})
	}
}

func TestBackwardSteadyStateDoesNotAllocate(t *testing.T) {
	if !useAVX2 {
		t.Skipf("portable path (%s) allocates in its goroutine fan-out", FastPath())
	}
	if race.Enabled {
		t.Skip("-race: sync.Pool drops pooled scratch at random")
	}
	r := rand.New(rand.NewSource(31))
	for _, th := range []int{1, 2} {
		restore := SetThreads(th)
		for _, p := range []ConvParams{
			{N: 4, InC: 48, InH: 28, InW: 28, OutC: 48, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 48},
			{N: 4, InC: 48, InH: 28, InW: 28, OutC: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 48},
			{N: 4, InC: 48, InH: 14, InW: 14, OutC: 128, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},
			{N: 4, InC: 3, InH: 32, InW: 32, OutC: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1},
			{N: 4, InC: 48, InH: 28, InW: 28, OutC: 48, KH: 1, KW: 1, StrideH: 2, StrideW: 2, Groups: 48},
			{N: 4, InC: 48, InH: 28, InW: 28, OutC: 48, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 48},
		} {
			x, w, dy := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutSize())
			dx, dw, out := make([]float32, p.InSize()), make([]float32, p.WeightSize()), make([]float32, p.OutSize())
			for name, f := range map[string]func(){
				"Conv2D":               func() { Conv2D(out, x, w, nil, p, ActNone) },
				"Conv2DBackwardData":   func() { Conv2DBackwardData(dx, dy, w, p) },
				"Conv2DBackwardWeight": func() { Conv2DBackwardWeight(dw, x, dy, p) },
			} {
				f()
				if n := testing.AllocsPerRun(10, f); n != 0 {
					t.Errorf("threads %d: %s %+v: %v allocs per call", th, name, p, n)
				}
			}
		}
		SetThreads(restore)
	}
}
