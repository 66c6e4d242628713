package train

import (
	"fmt"
	"math"
	"sync"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/kernels"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// ParamGroup is one torch param group. mmengine's
// DefaultOptimWrapperConstructor with a paramwise_cfg makes one group per
// parameter, in named_parameters() order; this package always keeps one per
// parameter and, without paramwise_cfg, saves and loads them as the single
// group mmengine has.
type ParamGroup struct {
	Key                                  string        // state-dict key of the parameter
	Param, Grad                          *model.Tensor // the parameter and its gradient slot
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool
	// Adam/AdamW: Momentum is betas[0] (mmengine's momentum schedulers
	// drive it), Beta2 betas[1].
	Beta2, Eps float64
	// Frozen is requires_grad=False (frozen_stages): the step skips the
	// parameter, as torch skips a parameter whose grad is None.
	Frozen bool
	// Adam state: exp_avg (Buf), exp_avg_sq and step.
	ExpAvgSq []float32
	Steps    float32
	// Initial holds the initial_<name> values that mmengine's schedulers
	// record in the group ("lr", "weight_decay", ...).
	Initial map[string]float64
	// Extra holds other keys schedulers keep in the group (OneCycle's
	// max_lr and min_lr), saved with it.
	Extra map[string]float64
	// Buf is torch's state["momentum_buffer"], nil before the first step.
	Buf []float32

	fresh bool // Buf was just allocated by Step (its first update)
}

func (g *ParamGroup) setExtra(k string, v float64) {
	if g.Extra == nil {
		g.Extra = map[string]float64{}
	}
	g.Extra[k] = v
}

// Get returns the group's hyper-parameter by its torch name.
func (g *ParamGroup) Get(name string) (float64, bool) {
	switch name {
	case "lr":
		return g.LR, true
	case "weight_decay":
		return g.WeightDecay, true
	case "momentum":
		return g.Momentum, true
	case "dampening":
		return g.Dampening, true
	}
	return 0, false
}

// Set changes the hyper-parameter by its torch name.
func (g *ParamGroup) Set(name string, v float64) {
	switch name {
	case "lr":
		g.LR = v
	case "weight_decay":
		g.WeightDecay = v
	case "momentum":
		g.Momentum = v
	case "dampening":
		g.Dampening = v
	default:
		panic("train: unknown param group key " + name)
	}
}

// OptimConfig is optim_wrapper: the optimizer's type and arguments and
// paramwise_cfg's multipliers (nil: not set).
type OptimConfig struct {
	Type                                                      string // SGD (default), Adam, AdamW
	LR, Momentum, Dampening, WeightDecay                      float64
	Nesterov                                                  bool
	Beta1, Beta2, Eps                                         float64 // Adam, AdamW
	Paramwise                                                 bool    // paramwise_cfg given: one param group per parameter in the state dict
	NormDecayMult, BiasDecayMult, BiasLRMult, DWConvDecayMult *float64
}

// Optimizer is torch.optim.SGD, Adam or AdamW (PyTorch 1.13 semantics,
// maximize=False, amsgrad=False, single-tensor CPU path), all in float32
// like torch's CPU kernels. SGD:
//
//	d = grad + wd·p                      (coupled L2, skipped when wd = 0)
//	buf = d (first step) | μ·buf + (1−dampening)·d
//	d = d + μ·buf (nesterov) | buf
//	p = p − lr·d
//
// Adam (AdamW first decays p by p·(1 − lr·wd) and adds no L2 to the grad):
//
//	g = grad + wd·p;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//	p = p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
//
// Frozen parameters (requires_grad=False) are skipped and get no state.
type Optimizer struct {
	Type   string // SGD, Adam, AdamW
	Groups []*ParamGroup
	// Config is what the optimizer was built from.
	Config OptimConfig
	// BaseGroup is the OptimWrapper's base_param_settings (the optimizer's
	// defaults, without parameters), which mmengine keeps when there is more
	// than one param group (paramwise_cfg): the schedulers step it like a
	// group, the LoggerHook logs its lr as base_lr, and it is saved with
	// the state dict. nil with a single group.
	BaseGroup *ParamGroup
}

// NewOptimizer builds the param groups for m the way mmengine's
// DefaultOptimWrapperConstructor does with paramwise_cfg:
// norm (BatchNorm) params get weight_decay·norm_decay_mult; else biases
// get weight_decay·bias_decay_mult (and lr·bias_lr_mult); else depthwise
// conv weights get weight_decay·dwconv_decay_mult. grads must come from
// m.NewGrads(); parameters m.Frozen reports are marked frozen.
func NewOptimizer(m *model.ImageClassifier, grads *model.Grads, cfg OptimConfig) (*Optimizer, error) {
	if cfg.Type == "" {
		cfg.Type = "SGD"
	}
	switch cfg.Type {
	case "SGD":
		if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
			return nil, configErrorf("optim_wrapper.optimizer.nesterov", "Nesterov momentum requires a momentum and zero dampening")
		}
	case "Adam", "AdamW":
		if cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 || cfg.Eps < 0 {
			return nil, configErrorf("optim_wrapper.optimizer", "invalid betas (%v, %v) or eps %v", cfg.Beta1, cfg.Beta2, cfg.Eps)
		}
		cfg.Momentum = cfg.Beta1
	default:
		return nil, configErrorf("optim_wrapper.optimizer.type", "%q", cfg.Type)
	}
	if cfg.LR < 0 || cfg.Momentum < 0 || cfg.WeightDecay < 0 {
		return nil, configErrorf("optim_wrapper.optimizer", "negative lr, momentum or weight_decay")
	}
	dw := map[*model.Tensor]bool{}
	blocks, _ := m.Blocks()
	for _, b := range blocks {
		for _, cb := range append([]*model.ConvBN{b.BranchScale}, b.BranchConvList...) {
			if cb != nil && cb.Conv.Groups == cb.Conv.In && cb.Conv.In > 0 {
				dw[cb.Conv.Weight] = true
			}
		}
		if r := b.BranchReparam; r != nil && r.Groups == r.In {
			dw[r.Weight] = true
		}
	}
	frozen := m.FrozenParams()
	o := &Optimizer{Type: cfg.Type, Config: cfg}
	for i, e := range m.Parameters() {
		if grads.Keys[i] != e.Key {
			return nil, fmt.Errorf("train: gradients do not belong to this model (%s vs %s)", grads.Keys[i], e.Key)
		}
		g := &ParamGroup{Key: e.Key, Param: e.Tensor, Grad: grads.Tensors[i], LR: cfg.LR, Momentum: cfg.Momentum,
			Dampening: cfg.Dampening, WeightDecay: cfg.WeightDecay, Nesterov: cfg.Nesterov, Beta2: cfg.Beta2, Eps: cfg.Eps,
			Frozen: frozen[e.Tensor], Initial: map[string]float64{}}
		switch {
		case e.Norm:
			if cfg.NormDecayMult != nil {
				g.WeightDecay = cfg.WeightDecay * *cfg.NormDecayMult
			}
		case e.Bias:
			if cfg.BiasLRMult != nil {
				g.LR = cfg.LR * *cfg.BiasLRMult
			}
			if cfg.BiasDecayMult != nil {
				g.WeightDecay = cfg.WeightDecay * *cfg.BiasDecayMult
			}
		case dw[e.Tensor]:
			if cfg.DWConvDecayMult != nil {
				g.WeightDecay = cfg.WeightDecay * *cfg.DWConvDecayMult
			}
		}
		o.Groups = append(o.Groups, g)
	}
	if cfg.Paramwise && len(o.Groups) > 1 {
		o.BaseGroup = &ParamGroup{Key: "base_param_settings", LR: cfg.LR, Momentum: cfg.Momentum, Dampening: cfg.Dampening,
			WeightDecay: cfg.WeightDecay, Nesterov: cfg.Nesterov, Beta2: cfg.Beta2, Eps: cfg.Eps, Initial: map[string]float64{}}
	}
	return o, nil
}

// scheduled is what mmengine's schedulers step: the param groups, then
// base_param_settings when there is one (OptimWrapper.param_groups).
func (o *Optimizer) scheduled() []*ParamGroup {
	if o.BaseGroup == nil {
		return o.Groups
	}
	return append(o.Groups[:len(o.Groups):len(o.Groups)], o.BaseGroup)
}

// ScaleLR multiplies every group's lr (and the base lr) by f, as
// auto_scale_lr does before the schedulers are built.
func (o *Optimizer) ScaleLR(f float64) {
	o.Config.LR *= f
	for _, g := range o.scheduled() {
		g.LR *= f
	}
}

// Step applies one update to every parameter from its gradient.
func (o *Optimizer) Step() {
	// The update is elementwise, so splitting the parameters over
	// goroutines does not change any result.
	adam := o.Type != "SGD"
	total := 0
	for _, g := range o.Groups {
		if g.Frozen {
			continue
		}
		switch {
		case adam && g.Buf == nil:
			g.Buf = make([]float32, len(g.Param.Data))
			g.ExpAvgSq = make([]float32, len(g.Param.Data))
		case !adam && g.Buf == nil && g.Momentum != 0:
			g.Buf = make([]float32, len(g.Param.Data))
			g.fresh = true
		}
		if adam {
			g.Steps++
		}
		total += len(g.Param.Data)
	}
	parts := min(kernels.Threads(), max(1, total/(1<<17)))
	run := func(lo, hi int) {
		off := 0
		for _, g := range o.Groups {
			if g.Frozen {
				continue
			}
			n := len(g.Param.Data)
			a, b := max(lo-off, 0), min(hi-off, n)
			if a < b {
				if adam {
					g.adamRange(a, b, o.Type == "AdamW")
				} else {
					g.stepRange(a, b)
				}
			}
			off += n
			if off >= hi {
				break
			}
		}
	}
	if parts <= 1 {
		run(0, total)
	} else {
		var wg sync.WaitGroup
		wg.Add(parts - 1)
		for p := 1; p < parts; p++ {
			go func(lo, hi int) {
				defer wg.Done()
				run(lo, hi)
			}(p*total/parts, (p+1)*total/parts)
		}
		run(0, total/parts)
		wg.Wait()
	}
	for _, g := range o.Groups {
		g.fresh = false
	}
}

// stepRange applies the SGD update to elements [lo, hi) of the group.
func (g *ParamGroup) stepRange(lo, hi int) {
	p, d0 := g.Param.Data[lo:hi], g.Grad.Data[lo:hi]
	var buf []float32
	if g.Buf != nil {
		buf = g.Buf[lo:hi]
	}
	lr, mom, wd := float32(g.LR), float32(g.Momentum), float32(g.WeightDecay)
	damp := float32(1 - g.Dampening)
	first := g.fresh
	for i := range p {
		d := d0[i]
		if g.WeightDecay != 0 {
			d += wd * p[i]
		}
		if g.Momentum != 0 {
			if first {
				buf[i] = d
			} else {
				buf[i] = mom*buf[i] + damp*d
			}
			if g.Nesterov {
				d += mom * buf[i]
			} else {
				d = buf[i]
			}
		}
		p[i] -= lr * d
	}
}

// adamRange applies the Adam (decoupled: AdamW) update to elements
// [lo, hi) of the group; g.Steps already counts this step.
func (g *ParamGroup) adamRange(lo, hi int, decoupled bool) {
	p, d0 := g.Param.Data[lo:hi], g.Grad.Data[lo:hi]
	m, v := g.Buf[lo:hi], g.ExpAvgSq[lo:hi]
	step := float64(g.Steps)
	b1, b2 := g.Momentum, g.Beta2
	bc1 := 1 - math.Pow(b1, step)
	bc2sqrt := float32(math.Sqrt(1 - math.Pow(b2, step)))
	stepSize := float32(g.LR / bc1)
	decay := float32(1 - g.LR*g.WeightDecay)
	wd, eps := float32(g.WeightDecay), float32(g.Eps)
	fb1, fb2 := float32(b1), float32(b2)
	ob1, ob2 := float32(1-b1), float32(1-b2)
	for i := range p {
		d := d0[i]
		if decoupled {
			p[i] *= decay
		} else if g.WeightDecay != 0 {
			d += wd * p[i]
		}
		m[i] = m[i]*fb1 + ob1*d
		v[i] = v[i]*fb2 + ob2*d*d
		denom := float32(math.Sqrt(float64(v[i])))/bc2sqrt + eps
		p[i] -= stepSize * (m[i] / denom)
	}
}

func lenOf(v any) any {
	if l, ok := v.(checkpoint.List); ok {
		return len(l)
	}
	return "no"
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case bool:
		return 0, false
	}
	return 0, false
}
