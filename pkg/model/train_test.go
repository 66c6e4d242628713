package model

import (
	"math"
	"math/rand"
	"testing"
)

// fdArch is a small arch that still has every kind of layer: stride-2 and
// stride-1 blocks, identity (branch_norm), scale and two conv branches, and
// SE in the last stage.
var fdArch = Arch{NumBlocks: [4]int{1, 2, 1, 1}, WidthFactor: [4]float64{0.125, 0.125, 0.125, 0.25},
	NumConvBranches: [4]int{2, 2, 2, 2}, NumSEBlocks: [4]int{0, 0, 0, 1}}

// linearLoss is L = Σ r·logits, computed in float64; its gradient with
// respect to the logits is r.
func linearLoss(logits, r *Tensor) float64 {
	s := 0.0
	for i, v := range logits.Data {
		s += float64(v) * float64(r.Data[i])
	}
	return s
}

// fdChecker compares analytic gradients with central differences
// (L(p+h) − L(p−h))/2h. The model runs in float32 and is piecewise smooth
// (ReLU): when a ReLU input lies within h of zero the central difference
// measures a kink, not the gradient. Such points are recognised by the
// one-sided differences disagreeing with each other, and skipped (counted).
// Tolerance: |fd − analytic| ≤ 5e-3 + 3e-2·|fd| (h = 2e-3 leaves an O(h²)
// truncation error and a roundoff of about 1e-6·|L|/h).
type fdChecker struct {
	t                     *testing.T
	loss                  func() float64
	checked, skipped, bad int
	// tolerateBad is the fraction of checked elements allowed off. A whole
	// network has so many ReLUs that a perturbation can cross kinks on both
	// sides symmetrically, which the one-sided test does not catch; single
	// blocks must be exact (0).
	tolerateBad float64
}

func (c *fdChecker) check(name string, p []float32, j int, analytic float32) {
	c.t.Helper()
	const h = 2e-3
	orig := p[j]
	hi, lo := orig+h, orig-h
	l0 := c.loss()
	p[j] = hi
	lp := c.loss()
	p[j] = lo
	lm := c.loss()
	p[j] = orig
	tol := func(v float64) float64 { return 5e-3 + 3e-2*math.Abs(v) }
	fwd, bwd := (lp-l0)/(float64(hi)-float64(orig)), (l0-lm)/(float64(orig)-float64(lo))
	fd := (lp - lm) / (float64(hi) - float64(lo))
	c.checked++
	if math.Abs(fwd-bwd) > tol(fd) {
		c.skipped++
		return
	}
	if an := float64(analytic); math.Abs(fd-an) > tol(fd) {
		c.bad++
		c.t.Logf("%s[%d]: backward %.6g, finite difference %.6g", name, j, an, fd)
	}
}

func (c *fdChecker) done() {
	c.t.Helper()
	c.t.Logf("%d gradient elements checked, %d skipped at a ReLU kink, %d off", c.checked, c.skipped, c.bad)
	if float64(c.bad) > c.tolerateBad*float64(c.checked) {
		c.t.Errorf("%d of %d gradient elements disagree with finite differences (tolerated: %.0f%%)", c.bad, c.checked, 100*c.tolerateBad)
	}
	if c.skipped*3 > c.checked {
		c.t.Errorf("too many elements at a kink (%d of %d): the check says little", c.skipped, c.checked)
	}
}

// checkFiniteDifferences checks Backward against finite differences for a
// few random elements of every parameter, with L = Σ r·logits.
func checkFiniteDifferences(t *testing.T, m *ImageClassifier, x *Tensor, seed int64) {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	pass, err := m.ForwardTrain(x)
	if err != nil {
		t.Fatal(err)
	}
	dl := NewTensor(pass.Logits.Shape...)
	for i := range dl.Data {
		dl.Data[i] = float32(r.NormFloat64())
	}
	g := m.NewGrads()
	if err := pass.Backward(dl, g); err != nil {
		t.Fatal(err)
	}
	c := &fdChecker{t: t, tolerateBad: 0.03, loss: func() float64 {
		p, err := m.ForwardTrain(x)
		if err != nil {
			t.Fatal(err)
		}
		return linearLoss(p.Logits, dl)
	}}
	for pi, e := range m.Parameters() {
		for k := 0; k < 3; k++ {
			j := r.Intn(len(e.Tensor.Data))
			c.check(e.Key, e.Tensor.Data, j, g.Tensors[pi].Data[j])
		}
	}
	c.done()
}

// TestBlockBackwardFiniteDifferences checks single blocks of every shape
// MobileOne has, including the gradient with respect to the block input.
func TestBlockBackwardFiniteDifferences(t *testing.T) {
	cfg := Config{}
	cfg.defaults()
	for _, tc := range []struct {
		name                   string
		in, out, k, s, pad, gr int
		se                     bool
	}{
		{"depthwise-s1-identity", 4, 4, 3, 1, 1, 4, false},
		{"depthwise-s2", 4, 4, 3, 2, 1, 4, false},
		{"pointwise-widen", 4, 6, 1, 1, 0, 1, false},
		{"pointwise-identity-se", 8, 8, 1, 1, 0, 1, true},
		{"stem", 3, 4, 3, 2, 1, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBlock(tc.in, tc.out, tc.k, tc.s, tc.pad, tc.gr, 2, tc.se, &cfg)
			r := rand.New(rand.NewSource(1))
			var ents []Entry
			ents = b.appendEntries(ents, "")
			g := &Grads{index: map[*Tensor]int{}}
			for _, e := range ents {
				if e.Kind != Param {
					continue
				}
				for i := range e.Tensor.Data {
					switch {
					case e.Norm && e.Bias:
						e.Tensor.Data[i] = float32(0.1 * r.NormFloat64())
					case e.Norm:
						e.Tensor.Data[i] = float32(1 + 0.2*r.NormFloat64())
					default:
						e.Tensor.Data[i] = float32(0.5 * r.NormFloat64())
					}
				}
				g.index[e.Tensor] = len(g.Tensors)
				g.Keys = append(g.Keys, e.Key)
				g.Tensors = append(g.Tensors, NewTensor(e.Tensor.Shape...))
			}
			x := NewTensor(3, tc.in, 6, 6)
			for i := range x.Data {
				x.Data[i] = float32(r.NormFloat64())
			}
			cache := b.forwardTrain(x, nil, false)
			R := make([]float32, len(cache.out.Data))
			for i := range R {
				R[i] = float32(r.NormFloat64())
			}
			dx := cache.backward(append([]float32(nil), R...), g, true, nil)
			c := &fdChecker{t: t, loss: func() float64 {
				s := 0.0
				for i, v := range b.forwardTrain(x, nil, false).out.Data {
					s += float64(v) * float64(R[i])
				}
				return s
			}}
			for _, e := range ents {
				if e.Kind != Param {
					continue
				}
				gt := g.Of(e.Tensor)
				for j := 0; j < len(gt.Data); j += 1 + len(gt.Data)/5 {
					c.check(e.Key, e.Tensor.Data, j, gt.Data[j])
				}
			}
			for j := 0; j < len(x.Data); j += 7 {
				c.check("input", x.Data, j, dx[j])
			}
			c.done()
		})
	}
}

// fdModel is randomModel with BatchNorm affine parameters near PyTorch's
// initial (1, 0). Fully random BN biases kill whole channels after the ReLU;
// the next train-mode BN then sees zero variance and multiplies by
// 1/sqrt(eps) ≈ 316, which makes finite differences meaningless (not the
// gradient). 64×64 inputs keep ≥ 2×2 positions per image in stage4.
func fdModel(t *testing.T, seed int64) *ImageClassifier {
	m := randomModel(t, Config{Arch: fdArch, NumClasses: 5}, seed)
	r := rand.New(rand.NewSource(seed + 100))
	for _, e := range m.Parameters() {
		if !e.Norm {
			continue
		}
		for i := range e.Tensor.Data {
			if e.Bias {
				e.Tensor.Data[i] = float32(0.1 * r.NormFloat64())
			} else {
				e.Tensor.Data[i] = float32(1 + 0.2*r.NormFloat64())
			}
		}
	}
	return m
}

func TestBackwardFiniteDifferencesTrainGraph(t *testing.T) {
	checkFiniteDifferences(t, fdModel(t, 1), randomInput(4, 64, 64, 2), 3)
}

func TestBackwardFiniteDifferencesDeployGraph(t *testing.T) {
	m := fdModel(t, 4)
	m.SwitchToDeploy()
	checkFiniteDifferences(t, m, randomInput(4, 64, 64, 5), 6)
}

// TestForwardTrainBatchNorm checks one BatchNorm against its definition:
// the stage0 scale branch's conv output is recomputed in float64, and the
// running statistics must follow PyTorch's momentum update with the
// unbiased variance.
func TestForwardTrainBatchNorm(t *testing.T) {
	m := randomModel(t, Config{Arch: fdArch, NumClasses: 5}, 7)
	x := randomInput(3, 16, 16, 8)
	bn := m.Backbone.Stage0.BranchScale.Norm
	rm0, rv0, n0 := bn.RunningMean.Clone(), bn.RunningVar.Clone(), bn.NumBatchesTracked
	pass, err := m.ForwardTrain(x)
	if err != nil {
		t.Fatal(err)
	}
	conv := pass.blocks[0].convs[0]
	c := m.Backbone.Stage0
	hw := len(conv) / (3 * c.Out)
	for ch := 0; ch < c.Out; ch++ {
		var s, ss float64
		for i := 0; i < 3; i++ {
			for _, v := range conv[(i*c.Out+ch)*hw : (i*c.Out+ch+1)*hw] {
				s += float64(v)
			}
		}
		mean := s / float64(3*hw)
		for i := 0; i < 3; i++ {
			for _, v := range conv[(i*c.Out+ch)*hw : (i*c.Out+ch+1)*hw] {
				ss += (float64(v) - mean) * (float64(v) - mean)
			}
		}
		unb := ss / float64(3*hw-1)
		wantM := 0.9*float64(rm0.Data[ch]) + 0.1*mean
		wantV := 0.9*float64(rv0.Data[ch]) + 0.1*unb
		if d := math.Abs(float64(bn.RunningMean.Data[ch]) - wantM); d > 1e-6+1e-5*math.Abs(wantM) {
			t.Errorf("running_mean[%d] = %v, want %v", ch, bn.RunningMean.Data[ch], wantM)
		}
		if d := math.Abs(float64(bn.RunningVar.Data[ch]) - wantV); d > 1e-6+1e-5*math.Abs(wantV) {
			t.Errorf("running_var[%d] = %v, want %v", ch, bn.RunningVar.Data[ch], wantV)
		}
	}
	if bn.NumBatchesTracked != n0+1 {
		t.Errorf("num_batches_tracked = %d, want %d", bn.NumBatchesTracked, n0+1)
	}
}

// TestGradsAlignedWithParameters: the gradient slots follow Parameters().
func TestGradsAlignedWithParameters(t *testing.T) {
	m := randomModel(t, Config{Arch: fdArch, NumClasses: 5}, 9)
	g := m.NewGrads()
	for i, e := range m.Parameters() {
		if g.Keys[i] != e.Key || !g.Tensors[i].SameShape(e.Tensor.Shape) || g.Of(e.Tensor) != g.Tensors[i] {
			t.Fatalf("slot %d: %s %v, parameter %s %v", i, g.Keys[i], g.Tensors[i].Shape, e.Key, e.Tensor.Shape)
		}
	}
}
