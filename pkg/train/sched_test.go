package train

import (
	"fmt"
	"math"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/model"
)

// mobileOneSchedule is the param_scheduler of the MobileOne ImageNet
// configs (imagenet_bs256_coslr_coswd_300e.py): LinearLR warmup over 5
// epochs stepped per iteration, CosineAnnealingLR, cosine weight decay.
func mobileOneSchedule(t *testing.T, epochLen int) []*Scheduler {
	t.Helper()
	var out []*Scheduler
	for _, c := range []struct {
		rule       Rule
		param      string
		begin, end int
		convert    bool
	}{
		{&Linear{StartFactor: 0.001, EndFactor: 1}, "lr", 0, 5, true},
		{&CosineAnnealing{TMax: 295, EtaMin: 1e-6}, "lr", 5, 300, false},
		{&CosineAnnealing{EtaMin: 1e-5}, "weight_decay", 0, 300, false},
	} {
		s, err := NewScheduler(c.rule, c.param, c.begin, c.end, true, c.convert, epochLen)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func tinyOpt(t *testing.T) (*model.ImageClassifier, *Optimizer) {
	t.Helper()
	m, err := model.New(model.Config{Arch: model.Arch{NumBlocks: [4]int{1, 1, 1, 1}, WidthFactor: [4]float64{0.125, 0.125, 0.125, 0.25},
		NumConvBranches: [4]int{1, 1, 1, 1}}, NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	zero := 0.0
	o, err := NewOptimizer(m, m.NewGrads(), OptimConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, NormDecayMult: &zero})
	if err != nil {
		t.Fatal(err)
	}
	return m, o
}

// The MobileOne schedule (spec §2.7) against its closed forms.
func TestSchedulesMatchSpecFormulas(t *testing.T) {
	_, o := tinyOpt(t)
	const iters = 7 // iterations per epoch
	ss := mobileOneSchedule(t, iters)
	for _, s := range ss {
		if err := s.Init(o); err != nil {
			t.Fatal(err)
		}
	}
	var norm, conv *ParamGroup
	for _, g := range o.Groups {
		if g.WeightDecay == 0 && norm == nil {
			norm = g
		}
		if g.WeightDecay != 0 && conv == nil {
			conv = g
		}
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12+1e-9*math.Abs(want) {
			t.Fatalf("%s = %.17g, want %.17g", what, got, want)
		}
	}
	T := 5 * iters
	for e := 0; e < 300; e++ {
		wd0 := 1e-5 + (1e-4-1e-5)*(1+math.Cos(math.Pi*float64(e)/300))/2
		wdBN := 1e-5 * (1 - (1+math.Cos(math.Pi*float64(e)/300))/2)
		near("weight_decay", conv.WeightDecay, wd0)
		near("BN weight_decay", norm.WeightDecay, wdBN)
		for i := 0; i < iters; i++ {
			it := e*iters + i
			want := 1e-6 + (0.1-1e-6)*(1+math.Cos(math.Pi*float64(e-5)/295))/2
			if it < T {
				want = 0.1 * (0.001 + 0.999*float64(it)/float64(T-1))
			}
			near("lr", conv.LR, want)
			for _, s := range ss {
				if !s.ByEpoch {
					s.Step(o)
				}
			}
		}
		for _, s := range ss {
			if s.ByEpoch {
				s.Step(o)
			}
		}
	}
}

func TestSGDMatchesTorchFormula(t *testing.T) {
	_, o := tinyOpt(t)
	g := o.Groups[0]
	g.Nesterov, g.Dampening = true, 0
	p0 := append([]float32(nil), g.Param.Data...)
	for i := range g.Grad.Data {
		g.Grad.Data[i] = float32(i%5) - 2
	}
	o.Step()
	o.Step()
	for i := range p0 {
		d := g.Grad.Data[i] + float32(1e-4)*p0[i]
		buf := d
		p1 := p0[i] - float32(0.1)*(d+float32(0.9)*buf)
		d2 := g.Grad.Data[i] + float32(1e-4)*p1
		buf2 := float32(0.9)*buf + d2
		p2 := p1 - float32(0.1)*(d2+float32(0.9)*buf2)
		if math.Abs(float64(g.Param.Data[i]-p2)) > 1e-6 || math.Abs(float64(g.Buf[i]-buf2)) > 1e-6 {
			t.Fatalf("[%d]: p %v buf %v, want %v %v", i, g.Param.Data[i], g.Buf[i], p2, buf2)
		}
	}
}

func TestEMAUpdate(t *testing.T) {
	m, _ := tinyOpt(t)
	e, err := NewEMA(m, 0.25, true)
	if err != nil {
		t.Fatal(err)
	}
	w := m.Head.FC.Weight
	w.Data[0] = 4
	m.Backbone.Stage0.BranchConvList[0].Norm.NumBatchesTracked = 3
	e.Update(m) // first update copies
	if e.Model.Head.FC.Weight.Data[0] != 4 || e.Model.Backbone.Stage0.BranchConvList[0].Norm.NumBatchesTracked != 3 {
		t.Fatal("first update must copy")
	}
	w.Data[0] = 8
	m.Backbone.Stage0.BranchConvList[0].Norm.RunningMean.Data[0] = 1
	m.Backbone.Stage0.BranchConvList[0].Norm.NumBatchesTracked = 9
	e.Update(m)
	if got := e.Model.Head.FC.Weight.Data[0]; got != 5 {
		t.Fatalf("ema = %v, want 4 + 0.25·(8−4) = 5", got)
	}
	if got := e.Model.Backbone.Stage0.BranchConvList[0].Norm.RunningMean.Data[0]; got != 0.25 {
		t.Fatalf("buffer ema = %v, want 0.25 (update_buffers)", got)
	}
	if e.Model.Backbone.Stage0.BranchConvList[0].Norm.NumBatchesTracked != 3 || e.Steps != 2 {
		t.Fatal("integer buffers are copied only at the first update")
	}
}

func TestLabelSmoothLossGradient(t *testing.T) {
	x := &model.Tensor{Shape: []int{2, 3}, Data: []float32{1, 2, 3, -1, 0.5, 0}}
	l := LabelSmoothLoss{LabelSmoothVal: 0.1}
	v, g, err := l.Forward(x, []int{2, 0})
	if err != nil {
		t.Fatal(err)
	}
	for i := range x.Data {
		o := x.Data[i]
		x.Data[i] = o + 1e-3
		vp, _, _ := l.Forward(x, []int{2, 0})
		x.Data[i] = o - 1e-3
		vm, _, _ := l.Forward(x, []int{2, 0})
		x.Data[i] = o
		if fd := (vp - vm) / 2e-3; math.Abs(fd-float64(g.Data[i])) > 1e-4 {
			t.Fatalf("grad[%d] %v, fd %v", i, g.Data[i], fd)
		}
	}
	if _, _, err := l.Forward(x, []int{3, 0}); err == nil {
		t.Fatal("label out of range accepted")
	}
	_ = v
}

// The train sampler's order is mmengine's DefaultSampler(shuffle=True):
// torch.randperm from a generator seeded with seed+epoch (values from
// torch 1.13: torch.Generator().manual_seed(7) and (1000)).
func TestEpochOrderIsTorchRandperm(t *testing.T) {
	for _, c := range []struct {
		n     int
		seed  int64
		epoch int
		want  []int
	}{
		{10, 5, 2, []int{5, 0, 3, 4, 1, 7, 9, 6, 8, 2}},
		{18, 997, 3, []int{7, 9, 1, 11, 2, 16, 10, 15, 0, 3, 4, 6, 12, 5, 14, 8, 13, 17}},
	} {
		if got := epochOrder(c.n, true, c.seed, c.epoch); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("epochOrder(%d, %d, %d) = %v, torch %v", c.n, c.seed, c.epoch, got, c.want)
		}
	}
}
