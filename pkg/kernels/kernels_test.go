package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// maxRelErr is max|got−want| / max(1, max|want|): the error relative to the
// scale of the result.
func maxRelErr(got, want []float32) (float64, int) {
	scale := 1.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	worst, at := 0.0, -1
	for i := range want {
		if d := math.Abs(float64(got[i]-want[i])) / scale; d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	return worst, at
}

func TestGemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, m := range []int{1, 3, 4, 5, 17, 64} {
		for _, n := range []int{1, 7, 16, 33, 513} {
			for _, k := range []int{1, 5, 255, 257} {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, acc := range []bool{false, true} {
						p := GemmParams{M: m, N: n, K: k, TransA: tr[0], TransB: tr[1], Accumulate: acc}
						a, b := randSlice(r, m*k), randSlice(r, k*n)
						c0 := randSlice(r, m*n)
						want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
						GemmRef(want, a, b, p)
						Gemm(got, a, b, p)
						if e, at := maxRelErr(got, want); e > 1e-5 {
							t.Fatalf("%+v: rel err %g at %d", p, e, at)
						}
					}
				}
			}
		}
	}
}

var convCases = []ConvParams{
	{N: 2, InC: 3, InH: 17, InW: 19, OutC: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1}, // stem
	{N: 2, InC: 3, InH: 17, InW: 19, OutC: 8, KH: 1, KW: 1, StrideH: 2, StrideW: 2, Groups: 1},                   // stem scale branch
	{N: 1, InC: 6, InH: 9, InW: 10, OutC: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 6},  // depthwise
	{N: 3, InC: 6, InH: 9, InW: 10, OutC: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 6},  // depthwise s2
	{N: 2, InC: 6, InH: 9, InW: 10, OutC: 6, KH: 1, KW: 1, StrideH: 2, StrideW: 2, Groups: 6},                    // dw scale branch s2
	{N: 2, InC: 12, InH: 5, InW: 6, OutC: 20, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},                   // pointwise
	{N: 2, InC: 8, InH: 7, InW: 7, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 2},   // grouped
	{N: 1, InC: 64, InH: 1, InW: 1, OutC: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},                    // SE squeeze
}

func TestConvMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, p := range convCases {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			x, w, b := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
			for _, act := range []Activation{ActNone, ActReLU} {
				want, got := make([]float32, p.OutSize()), randSlice(r, p.OutSize())
				Conv2DRef(want, x, w, b, p, act)
				Conv2D(got, x, w, b, p, act)
				if e, at := maxRelErr(got, want); e > 1e-5 {
					t.Fatalf("forward act %d: rel err %g at %d", act, e, at)
				}
			}
			dy := randSlice(r, p.OutSize())
			wantDx, gotDx := make([]float32, p.InSize()), randSlice(r, p.InSize())
			Conv2DBackwardDataRef(wantDx, dy, w, p)
			Conv2DBackwardData(gotDx, dy, w, p)
			if e, at := maxRelErr(gotDx, wantDx); e > 1e-5 {
				t.Fatalf("backward data: rel err %g at %d", e, at)
			}
			wantDw, gotDw := make([]float32, p.WeightSize()), randSlice(r, p.WeightSize())
			Conv2DBackwardWeightRef(wantDw, x, dy, p)
			Conv2DBackwardWeight(gotDw, x, dy, p)
			if e, at := maxRelErr(gotDw, wantDw); e > 1e-5 {
				t.Fatalf("backward weight: rel err %g at %d", e, at)
			}
		})
	}
}

// TestConvBackwardIsAdjoint checks the reference backward kernels against
// the forward one: <conv(x), dy> = <x, dX(dy)> = <w, dW(x, dy)>.
func TestConvBackwardIsAdjoint(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, p := range convCases {
		x, w, dy := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutSize())
		y := make([]float32, p.OutSize())
		Conv2DRef(y, x, w, nil, p, ActNone)
		dx, dw := make([]float32, p.InSize()), make([]float32, p.WeightSize())
		Conv2DBackwardDataRef(dx, dy, w, p)
		Conv2DBackwardWeightRef(dw, x, dy, p)
		dot := func(a, b []float32) float64 {
			var s float64
			for i := range a {
				s += float64(a[i]) * float64(b[i])
			}
			return s
		}
		lhs := dot(y, dy)
		if d := math.Abs(lhs - dot(x, dx)); d > 1e-4*(1+math.Abs(lhs)) {
			t.Errorf("%+v: <conv x, dy>=%g but <x, dx>=%g", p, lhs, dot(x, dx))
		}
		if d := math.Abs(lhs - dot(w, dw)); d > 1e-4*(1+math.Abs(lhs)) {
			t.Errorf("%+v: <conv x, dy>=%g but <w, dw>=%g", p, lhs, dot(w, dw))
		}
	}
}

// TestBatchNormTrainBackwardFiniteDifferences checks the BN gradient against
// central differences of L = Σ out·g in float64-accumulated float32.
func TestBatchNormTrainBackwardFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	n, c, hw := 3, 2, 5
	x, w, b, g := randSlice(r, n*c*hw), randSlice(r, c), randSlice(r, c), randSlice(r, n*c*hw)
	st := BNStats{Mean: make([]float32, c), InvStd: make([]float32, c), VarUnbiased: make([]float32, c)}
	loss := func() float64 {
		out := make([]float32, len(x))
		BatchNormTrain(out, x, w, b, 1e-5, n, c, hw, st, false)
		var s float64
		for i := range out {
			s += float64(out[i]) * float64(g[i])
		}
		return s
	}
	loss()
	dx, dw, db := make([]float32, len(x)), make([]float32, c), make([]float32, c)
	BatchNormTrainBackward(dx, dw, db, g, x, w, n, c, hw, st)
	check := func(name string, v []float32, grad []float32) {
		for i := range v {
			const h = 1e-2
			old := v[i]
			v[i] = old + h
			lp := loss()
			v[i] = old - h
			lm := loss()
			v[i] = old
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-float64(grad[i])) > 2e-3*(1+math.Abs(fd)) {
				t.Errorf("%s[%d]: backward %g, finite difference %g", name, i, grad[i], fd)
			}
		}
	}
	check("x", x, dx)
	check("weight", w, dw)
	check("bias", b, db)
}

func TestBatchNormInferenceMatchesFormula(t *testing.T) {
	x := []float32{1, 2, 3, 4, -1, -2}
	out := make([]float32, 6)
	BatchNormInference(out, x, []float32{1, -1}, []float32{4, 0.25}, []float32{2, 3}, []float32{0.5, -0.5}, 0, 1, 2, 3, false)
	want := []float32{0.5, 1.5, 2.5, 29.5, -0.5, -6.5}
	for i := range want {
		if math.Abs(float64(out[i]-want[i])) > 1e-6 {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
}
