package train

import (
	"fmt"
	"sync"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/kernels"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// ParamGroup is one torch param group. mmengine's
// DefaultOptimWrapperConstructor with a paramwise_cfg makes one group per
// parameter, in named_parameters() order; this package always does.
type ParamGroup struct {
	Key                                  string        // state-dict key of the parameter
	Param, Grad                          *model.Tensor // the parameter and its gradient slot
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool
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

// OptimConfig is optim_wrapper: the SGD arguments and paramwise_cfg
// multipliers (nil: not set).
type OptimConfig struct {
	LR, Momentum, Dampening, WeightDecay                      float64
	Nesterov                                                  bool
	NormDecayMult, BiasDecayMult, BiasLRMult, DWConvDecayMult *float64
}

// SGD is torch.optim.SGD (PyTorch 1.13 semantics, maximize=False):
//
//	d = grad + wd·p                      (coupled L2, skipped when wd = 0)
//	buf = d (first step) | μ·buf + (1−dampening)·d
//	d = d + μ·buf (nesterov) | buf
//	p = p − lr·d
//
// all in float32 like torch's CPU kernels.
type SGD struct {
	Groups []*ParamGroup
	// Base is the OptimWrapper's base_param_settings (the first group's
	// hyper-parameters), saved with the state dict.
	Base OptimConfig
}

// NewSGD builds the param groups for m the way mmengine's
// DefaultOptimWrapperConstructor does with paramwise_cfg:
// norm (BatchNorm) params get weight_decay·norm_decay_mult; else biases
// get weight_decay·bias_decay_mult (and lr·bias_lr_mult); else depthwise
// conv weights get weight_decay·dwconv_decay_mult. grads must come from
// m.NewGrads().
func NewSGD(m *model.ImageClassifier, grads *model.Grads, cfg OptimConfig) (*SGD, error) {
	if cfg.LR < 0 || cfg.Momentum < 0 || cfg.WeightDecay < 0 {
		return nil, configErrorf("optim_wrapper.optimizer", "negative lr, momentum or weight_decay")
	}
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		return nil, configErrorf("optim_wrapper.optimizer.nesterov", "Nesterov momentum requires a momentum and zero dampening")
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
	o := &SGD{Base: cfg}
	for i, e := range m.Parameters() {
		if grads.Keys[i] != e.Key {
			return nil, fmt.Errorf("train: gradients do not belong to this model (%s vs %s)", grads.Keys[i], e.Key)
		}
		g := &ParamGroup{Key: e.Key, Param: e.Tensor, Grad: grads.Tensors[i], LR: cfg.LR, Momentum: cfg.Momentum,
			Dampening: cfg.Dampening, WeightDecay: cfg.WeightDecay, Nesterov: cfg.Nesterov, Initial: map[string]float64{}}
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
	return o, nil
}

// ScaleLR multiplies every group's lr (and the base lr) by f, as
// auto_scale_lr does before the schedulers are built.
func (o *SGD) ScaleLR(f float64) {
	o.Base.LR *= f
	for _, g := range o.Groups {
		g.LR *= f
	}
}

// Step applies one SGD update to every parameter from its gradient.
func (o *SGD) Step() {
	// The update is elementwise, so splitting the parameters over
	// goroutines does not change any result.
	total := 0
	for _, g := range o.Groups {
		if g.Buf == nil && g.Momentum != 0 {
			g.Buf = make([]float32, len(g.Param.Data))
			g.fresh = true
		}
		total += len(g.Param.Data)
	}
	parts := min(kernels.Threads(), max(1, total/(1<<17)))
	run := func(lo, hi int) {
		off := 0
		for _, g := range o.Groups {
			n := len(g.Param.Data)
			a, b := max(lo-off, 0), min(hi-off, n)
			if a < b {
				g.stepRange(a, b)
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

// groupDict is one torch param group as state_dict() writes it.
func (g *ParamGroup) dict(index int) *checkpoint.Dict {
	d := checkpoint.NewDict()
	d.Set("lr", g.LR)
	d.Set("momentum", g.Momentum)
	d.Set("dampening", pyNumber(g.Dampening))
	d.Set("weight_decay", pyNumber(g.WeightDecay))
	d.Set("nesterov", g.Nesterov)
	d.Set("maximize", false)
	d.Set("foreach", nil)
	d.Set("differentiable", false)
	for _, name := range []string{"lr", "weight_decay", "momentum"} {
		if v, ok := g.Initial[name]; ok {
			d.Set("initial_"+name, v)
		}
	}
	for _, name := range []string{"max_lr", "min_lr"} {
		if v, ok := g.Extra[name]; ok {
			d.Set(name, v)
		}
	}
	if index >= 0 {
		d.Set("params", checkpoint.List{int64(index)})
	}
	return d
}

// pyNumber keeps integral config values ints, as Python would have them
// (dampening=0, weight_decay=0 from 1e-4·0. is a float: keep floats).
func pyNumber(v float64) any {
	return v
}

// StateDict returns OptimWrapper.state_dict(): torch's SGD state_dict
// ({"state": {i: {"momentum_buffer": t}}, "param_groups": [...]}) plus
// mmengine's "base_param_settings".
func (o *SGD) StateDict() *checkpoint.Dict {
	state := checkpoint.NewDict()
	groups := make(checkpoint.List, 0, len(o.Groups))
	for i, g := range o.Groups {
		if g.Buf != nil {
			s := checkpoint.NewDict()
			s.Set("momentum_buffer", checkpoint.NewFloat32(append([]int(nil), g.Param.Shape...), append([]float32(nil), g.Buf...)))
			state.Set(int64(i), s)
		}
		groups = append(groups, g.dict(i))
	}
	d := checkpoint.NewDict()
	d.Set("state", state)
	d.Set("param_groups", groups)
	if len(o.Groups) > 0 {
		base := o.Groups[0].dict(-1)
		base.Items = append([]checkpoint.Item{{Key: "params", Value: checkpoint.NewFloat32([]int{1}, []float32{0})}}, base.Items...)
		// rebuild so the lookup index is consistent
		nb := checkpoint.NewDict()
		for _, it := range base.Items {
			nb.Set(it.Key, it.Value)
		}
		d.Set("base_param_settings", nb)
	}
	return d
}

// LoadStateDict restores param-group hyper-parameters and momentum buffers
// from a state dict written by StateDict or by torch.
func (o *SGD) LoadStateDict(d *checkpoint.Dict) error {
	pgv, _ := d.Get("param_groups")
	pgs, ok := pgv.(checkpoint.List)
	if !ok || len(pgs) != len(o.Groups) {
		return fmt.Errorf("optimizer state has %v param groups, the model needs %d", lenOf(pgv), len(o.Groups))
	}
	for i, v := range pgs {
		gd, ok := v.(*checkpoint.Dict)
		if !ok {
			return fmt.Errorf("param_groups[%d] is not a dict", i)
		}
		g := o.Groups[i]
		for _, it := range gd.Items {
			k, _ := it.Key.(string)
			f, isNum := toFloat(it.Value)
			switch {
			case k == "lr" || k == "weight_decay" || k == "momentum" || k == "dampening":
				if !isNum {
					return fmt.Errorf("param_groups[%d].%s is not a number", i, k)
				}
				g.Set(k, f)
			case k == "nesterov":
				g.Nesterov, _ = it.Value.(bool)
			case len(k) > 8 && k[:8] == "initial_" && isNum:
				g.Initial[k[8:]] = f
			case (k == "max_lr" || k == "min_lr") && isNum:
				g.setExtra(k, f)
			}
		}
	}
	sv, _ := d.Get("state")
	st, ok := sv.(*checkpoint.Dict)
	if !ok {
		return fmt.Errorf("optimizer state has no state dict")
	}
	for _, g := range o.Groups {
		g.Buf = nil
	}
	for _, it := range st.Items {
		idx, ok := it.Key.(int64)
		if !ok || idx < 0 || int(idx) >= len(o.Groups) {
			return fmt.Errorf("optimizer state key %v is not a param index", it.Key)
		}
		sd, _ := it.Value.(*checkpoint.Dict)
		var t *checkpoint.Tensor
		if sd != nil {
			bv, _ := sd.Get("momentum_buffer")
			t, _ = bv.(*checkpoint.Tensor)
		}
		g := o.Groups[idx]
		if t == nil {
			continue // momentum_buffer None (momentum 0)
		}
		if len(t.F32) != len(g.Param.Data) {
			return fmt.Errorf("momentum buffer of %s has %d values, want %d", g.Key, len(t.F32), len(g.Param.Data))
		}
		g.Buf = append([]float32(nil), t.F32...)
	}
	return nil
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
