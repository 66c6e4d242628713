package train

import (
	"math"
	"math/rand"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/model"
)

// Multi-step relations: what one-step parity cannot see (state carried from
// one step to the next: momentum buffers, weight decay per group, gradients
// overwritten rather than accumulated, BN running statistics).

func tinySGD(t *testing.T, m *model.ImageClassifier, g *model.Grads, lr float64) *Optimizer {
	t.Helper()
	zero := 0.0
	o, err := NewOptimizer(m, g, OptimConfig{LR: lr, Momentum: 0.9, WeightDecay: 1e-4, NormDecayMult: &zero})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestMultiStepLossDecreases: SGD with momentum on a fixed batch must
// drive the training loss down (the tiny model memorizes 8 images).
func TestMultiStepLossDecreases(t *testing.T) {
	m, _ := tinyModel(t)
	g := m.NewGrads()
	o := tinySGD(t, m, g, 0.02)
	x := fixtureBatch(t)
	loss := LabelSmoothLoss{LabelSmoothVal: 0.1}
	var losses []float64
	for step := 0; step < 25; step++ {
		l, _, err := ComputeGradients(m, g, loss, x, fixtureLabels)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l)
		o.Step()
	}
	t.Logf("losses: %.4g", losses)
	if !(losses[len(losses)-1] < 0.5*losses[0]) {
		t.Errorf("loss went from %.4g to %.4g in %d steps", losses[0], losses[len(losses)-1], len(losses))
	}
	// Gradients are overwritten, not accumulated: recomputing at the same
	// weights gives the same gradient.
	if _, _, err := ComputeGradients(m, g, loss, x, fixtureLabels); err != nil {
		t.Fatal(err)
	}
	first := make([][]float32, len(g.Tensors))
	for i, gt := range g.Tensors {
		first[i] = append([]float32(nil), gt.Data...)
	}
	if _, _, err := ComputeGradients(m, g, loss, x, fixtureLabels); err != nil {
		t.Fatal(err)
	}
	for i, gt := range g.Tensors {
		for j := range gt.Data {
			if gt.Data[j] != first[i][j] {
				t.Fatalf("gradient of %s changed on recomputation at the same weights ([%d] %v vs %v)", g.Keys[i], j, gt.Data[j], first[i][j])
			}
		}
	}
}

// TestGradientFiniteDifferenceAfterSteps: after a few SGD steps (weights
// away from the fixture's), the analytic gradient still matches central
// differences of the loss along random directions.
func TestGradientFiniteDifferenceAfterSteps(t *testing.T) {
	m, _ := tinyModel(t)
	g := m.NewGrads()
	o := tinySGD(t, m, g, 0.02)
	x := fixtureBatch(t)
	loss := CrossEntropyLoss{}
	for step := 0; step < 3; step++ {
		if _, _, err := ComputeGradients(m, g, loss, x, fixtureLabels); err != nil {
			t.Fatal(err)
		}
		o.Step()
	}
	if _, _, err := ComputeGradients(m, g, loss, x, fixtureLabels); err != nil {
		t.Fatal(err)
	}
	ps := m.Parameters()
	lossAt := func() float64 {
		pass, err := m.ForwardTrain(x)
		if err != nil {
			t.Fatal(err)
		}
		l, _, err := loss.Forward(pass.Logits, fixtureLabels)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	rng := rand.New(rand.NewSource(3))
	// One random direction per parameter tensor. The loss of a deep ReLU
	// network on 8 images is only piecewise smooth, so single tensors whose
	// directional derivative is tiny can be off; the aggregate relative
	// error over all tensors and the head (smooth in its weights) are tight.
	const h = 3e-4
	var sumErr, sumAbs float64
	for i, e := range ps {
		dir := make([]float32, len(e.Tensor.Data))
		var dot float64
		for j := range dir {
			dir[j] = float32(rng.NormFloat64())
			dot += float64(dir[j]) * float64(g.Tensors[i].Data[j])
		}
		orig := append([]float32(nil), e.Tensor.Data...)
		shift := func(s float64) {
			for j := range orig {
				e.Tensor.Data[j] = orig[j] + float32(s)*dir[j]
			}
		}
		shift(h)
		lp := lossAt()
		shift(-h)
		lm := lossAt()
		copy(e.Tensor.Data, orig)
		fd := (lp - lm) / (2 * h)
		sumErr += math.Abs(fd - dot)
		sumAbs += math.Abs(dot)
		if e.Key == "head.fc.weight" || e.Key == "head.fc.bias" {
			if math.Abs(fd-dot) > 0.01*math.Abs(dot)+1e-4 {
				t.Errorf("%s: analytic %.6g, central difference %.6g", e.Key, dot, fd)
			}
		}
	}
	rel := sumErr / sumAbs
	t.Logf("%d tensors: sum |fd − analytic| / sum |analytic| = %.3g", len(ps), rel)
	if rel > 0.1 { // 0.057 measured; a wrong or missing gradient term is O(1) on its tensors
		t.Errorf("aggregate relative error %.3g of the analytic directional derivatives", rel)
	}
}

// TestSGDTwoStepsReference: two SGD steps equal torch's update rule written
// out in float64 from the gradients the one-step machinery computes, per
// group (weight decay on convs and fc, none on BN), with the momentum
// buffer carried over.
func TestSGDTwoStepsReference(t *testing.T) {
	m, _ := tinyModel(t)
	g := m.NewGrads()
	const lr, mom, wd = 0.05, 0.9, 1e-4
	o := tinySGD(t, m, g, lr)
	x := fixtureBatch(t)
	loss := LabelSmoothLoss{LabelSmoothVal: 0.1}
	ps := m.Parameters()
	snapshot := func(src func(i int) []float32) [][]float64 {
		out := make([][]float64, len(ps))
		for i := range ps {
			s := src(i)
			out[i] = make([]float64, len(s))
			for j, v := range s {
				out[i][j] = float64(v)
			}
		}
		return out
	}
	p0 := snapshot(func(i int) []float32 { return ps[i].Tensor.Data })
	if _, _, err := ComputeGradients(m, g, loss, x, fixtureLabels); err != nil {
		t.Fatal(err)
	}
	g0 := snapshot(func(i int) []float32 { return g.Tensors[i].Data })
	o.Step()
	if _, _, err := ComputeGradients(m, g, loss, x, fixtureLabels); err != nil {
		t.Fatal(err)
	}
	g1 := snapshot(func(i int) []float32 { return g.Tensors[i].Data })
	o.Step()
	for i, e := range ps {
		decay := wd
		if e.Norm {
			decay = 0
		}
		if o.Groups[i].WeightDecay != decay {
			t.Fatalf("%s: weight decay %v, want %v", e.Key, o.Groups[i].WeightDecay, decay)
		}
		for j, v := range e.Tensor.Data {
			d0 := g0[i][j] + decay*p0[i][j]
			buf := d0
			p1 := p0[i][j] - lr*buf
			d1 := g1[i][j] + decay*p1
			buf = mom*buf + d1
			p2 := p1 - lr*buf
			if d := math.Abs(float64(v) - p2); d > 1e-6+1e-5*math.Abs(p2) {
				t.Fatalf("%s[%d] after two steps = %v, want %v", e.Key, j, v, p2)
			}
			if d := math.Abs(float64(o.Groups[i].Buf[j]) - buf); d > 1e-6+1e-5*math.Abs(buf) {
				t.Fatalf("%s[%d] momentum buffer = %v, want %v", e.Key, j, o.Groups[i].Buf[j], buf)
			}
		}
	}
	// BN running stats: two updates with momentum 0.1 from the initial
	// values; num_batches_tracked counts them.
	for _, e := range m.StateDict() {
		if e.Kind == model.Counter && *e.Count < 2 {
			t.Errorf("%s = %d after two train steps", e.Key, *e.Count)
		}
	}
}

// TestWorkspaceReuse: gradients computed with a recycled model.Workspace
// (after steps on other batch sizes) are bit-identical to fresh ones.
func TestWorkspaceReuse(t *testing.T) {
	m, _ := tinyModel(t)
	x := fixtureBatch(t)
	loss := LabelSmoothLoss{LabelSmoothVal: 0.1}
	fresh := m.NewGrads()
	if _, _, err := ComputeGradients(m, fresh, loss, x, fixtureLabels); err != nil {
		t.Fatal(err)
	}
	ws := model.NewWorkspace()
	g := m.NewGrads()
	half := &model.Tensor{Shape: []int{4, 3, 64, 64}, Data: x.Data[4*3*64*64:]}
	for _, step := range []struct {
		x      *model.Tensor
		labels []int
	}{{x, fixtureLabels}, {half, fixtureLabels[4:]}, {x, fixtureLabels}, {half, fixtureLabels[4:]}, {x, fixtureLabels}} {
		if _, _, err := ComputeGradientsWith(ws, m, g, loss, step.x, step.labels); err != nil {
			t.Fatal(err)
		}
	}
	for i := range g.Tensors {
		for j, v := range g.Tensors[i].Data {
			if v != fresh.Tensors[i].Data[j] {
				t.Fatalf("%s[%d]: %v with a recycled workspace, %v fresh", g.Keys[i], j, v, fresh.Tensors[i].Data[j])
			}
		}
	}
}
