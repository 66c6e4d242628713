package train

import (
	"fmt"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
)

// dict is one torch param group as the optimizer's state_dict() writes it
// (the keys of torch 1.13's SGD, Adam or AdamW defaults, then what
// mmengine's schedulers add), with params indices.
func (g *ParamGroup) dict(typ string, params checkpoint.List) *checkpoint.Dict {
	d := checkpoint.NewDict()
	d.Set("lr", g.LR)
	switch typ {
	case "SGD":
		d.Set("momentum", g.Momentum)
		d.Set("dampening", g.Dampening)
		d.Set("weight_decay", g.WeightDecay)
		d.Set("nesterov", g.Nesterov)
		d.Set("maximize", false)
		d.Set("foreach", nil)
		d.Set("differentiable", false)
	case "Adam":
		d.Set("betas", checkpoint.Tuple{g.Momentum, g.Beta2})
		d.Set("eps", g.Eps)
		d.Set("weight_decay", g.WeightDecay)
		d.Set("amsgrad", false)
		d.Set("maximize", false)
		d.Set("foreach", nil)
		d.Set("capturable", false)
		d.Set("differentiable", false)
		d.Set("fused", false)
	case "AdamW":
		d.Set("betas", checkpoint.Tuple{g.Momentum, g.Beta2})
		d.Set("eps", g.Eps)
		d.Set("weight_decay", g.WeightDecay)
		d.Set("amsgrad", false)
		d.Set("foreach", nil)
		d.Set("maximize", false)
		d.Set("capturable", false)
	}
	if _, ok := g.Initial["momentum"]; ok && typ != "SGD" {
		d.Set("momentum", g.Momentum) // MomentumSchedulerMixin's reference to betas[0]
	}
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
	if params != nil {
		d.Set("params", params)
	}
	return d
}

// StateDict returns OptimWrapper.state_dict(): torch's state_dict
// ({"state": {i: {...}}, "param_groups": [...]}) plus mmengine's
// "base_param_settings". With paramwise_cfg there is one group per
// parameter, else one group holding them all, as mmengine builds them.
// State: SGD's momentum_buffer; Adam's step, exp_avg, exp_avg_sq; none for
// frozen parameters.
func (o *Optimizer) StateDict() *checkpoint.Dict {
	state := checkpoint.NewDict()
	var groups checkpoint.List
	all := make(checkpoint.List, len(o.Groups))
	for i, g := range o.Groups {
		all[i] = int64(i)
		shape := append([]int(nil), g.Param.Shape...)
		if g.Buf != nil {
			s := checkpoint.NewDict()
			if o.Type == "SGD" {
				s.Set("momentum_buffer", checkpoint.NewFloat32(shape, append([]float32(nil), g.Buf...)))
			} else {
				s.Set("step", checkpoint.NewFloat32([]int{}, []float32{g.Steps}))
				s.Set("exp_avg", checkpoint.NewFloat32(shape, append([]float32(nil), g.Buf...)))
				s.Set("exp_avg_sq", checkpoint.NewFloat32(shape, append([]float32(nil), g.ExpAvgSq...)))
			}
			state.Set(int64(i), s)
		}
		if o.Config.Paramwise {
			groups = append(groups, g.dict(o.Type, checkpoint.List{int64(i)}))
		}
	}
	if !o.Config.Paramwise && len(o.Groups) > 0 {
		groups = checkpoint.List{o.Groups[0].dict(o.Type, all)}
	}
	d := checkpoint.NewDict()
	d.Set("state", state)
	d.Set("param_groups", groups)
	if o.BaseGroup != nil {
		base := checkpoint.NewDict()
		base.Set("params", checkpoint.NewFloat32([]int{1}, []float32{0}))
		for _, it := range o.BaseGroup.dict(o.Type, nil).Items {
			base.Set(it.Key, it.Value)
		}
		d.Set("base_param_settings", base)
	}
	return d
}

// LoadStateDict restores param-group hyper-parameters and the optimizer
// state from a state dict written by StateDict or by torch/mmengine: one
// group per parameter, or one group for all of them.
func (o *Optimizer) LoadStateDict(d *checkpoint.Dict) error {
	pgv, _ := d.Get("param_groups")
	pgs, ok := pgv.(checkpoint.List)
	if !ok || len(pgs) != len(o.Groups) && len(pgs) != 1 {
		return fmt.Errorf("optimizer state has %v param groups, the model needs %d (or 1)", lenOf(pgv), len(o.Groups))
	}
	for i, g := range o.Groups {
		src := pgs[0]
		if len(pgs) > 1 {
			src = pgs[i]
		}
		gd, ok := src.(*checkpoint.Dict)
		if !ok {
			return fmt.Errorf("param_groups[%d] is not a dict", i)
		}
		if err := g.load(gd); err != nil {
			return fmt.Errorf("param_groups[%d]: %w", i, err)
		}
	}
	if bd := d.Dict("base_param_settings"); bd != nil && o.BaseGroup != nil {
		if err := o.BaseGroup.load(bd); err != nil {
			return fmt.Errorf("base_param_settings: %w", err)
		}
	}
	sv, _ := d.Get("state")
	st, ok := sv.(*checkpoint.Dict)
	if !ok {
		return fmt.Errorf("optimizer state has no state dict")
	}
	for _, g := range o.Groups {
		g.Buf, g.ExpAvgSq, g.Steps = nil, nil, 0
	}
	for _, it := range st.Items {
		idx, ok := it.Key.(int64)
		if !ok || idx < 0 || int(idx) >= len(o.Groups) {
			return fmt.Errorf("optimizer state key %v is not a param index", it.Key)
		}
		sd, _ := it.Value.(*checkpoint.Dict)
		if sd == nil {
			return fmt.Errorf("optimizer state %d is not a dict", idx)
		}
		if err := o.Groups[idx].loadState(o.Type, sd); err != nil {
			return err
		}
	}
	return nil
}

func (g *ParamGroup) load(gd *checkpoint.Dict) error {
	for _, it := range gd.Items {
		k, _ := it.Key.(string)
		f, isNum := toFloat(it.Value)
		switch {
		case k == "lr" || k == "weight_decay" || k == "momentum" || k == "dampening" || k == "eps":
			if !isNum {
				return fmt.Errorf("%s is not a number", k)
			}
			if k == "eps" {
				g.Eps = f
			} else {
				g.Set(k, f)
			}
		case k == "betas":
			b, ok := it.Value.(checkpoint.Tuple)
			if !ok {
				l, _ := it.Value.(checkpoint.List)
				b = checkpoint.Tuple(l)
			}
			b1, ok1 := toFloat(sliceAt(b, 0))
			b2, ok2 := toFloat(sliceAt(b, 1))
			if len(b) != 2 || !ok1 || !ok2 {
				return fmt.Errorf("betas %v is not a pair of numbers", it.Value)
			}
			g.Momentum, g.Beta2 = b1, b2
		case k == "nesterov":
			g.Nesterov, _ = it.Value.(bool)
		case strings.HasPrefix(k, "initial_") && isNum:
			g.Initial[k[8:]] = f
		case (k == "max_lr" || k == "min_lr") && isNum:
			g.setExtra(k, f)
		}
	}
	return nil
}

func sliceAt(t checkpoint.Tuple, i int) any {
	if i < len(t) {
		return t[i]
	}
	return nil
}

func (g *ParamGroup) loadState(typ string, sd *checkpoint.Dict) error {
	tensor := func(name string) ([]float32, error) {
		v, _ := sd.Get(name)
		t, _ := v.(*checkpoint.Tensor)
		if t == nil {
			return nil, nil
		}
		if len(t.F32) != len(g.Param.Data) {
			return nil, fmt.Errorf("%s of %s has %d values, want %d", name, g.Key, len(t.F32), len(g.Param.Data))
		}
		return append([]float32(nil), t.F32...), nil
	}
	var err error
	if typ == "SGD" {
		g.Buf, err = tensor("momentum_buffer") // nil: momentum_buffer None (momentum 0)
		return err
	}
	if g.Buf, err = tensor("exp_avg"); err != nil {
		return err
	}
	if g.ExpAvgSq, err = tensor("exp_avg_sq"); err != nil {
		return err
	}
	v, _ := sd.Get("step")
	switch t := v.(type) {
	case *checkpoint.Tensor:
		if len(t.F32) == 1 {
			g.Steps = t.F32[0]
		}
	default:
		f, _ := toFloat(v)
		g.Steps = float32(f)
	}
	if g.Buf == nil || g.ExpAvgSq == nil || g.Steps <= 0 {
		return fmt.Errorf("the Adam state of %s lacks exp_avg, exp_avg_sq or step", g.Key)
	}
	return nil
}
