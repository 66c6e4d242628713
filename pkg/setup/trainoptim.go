package setup

import (
	"encoding/json"
	"fmt"

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/train"
)

type optimWrapperCfg struct {
	Type               string          `json:"type"`
	Optimizer          json.RawMessage `json:"optimizer"`
	ParamwiseCfg       *paramwiseCfg   `json:"paramwise_cfg"`
	ClipGrad           json.RawMessage `json:"clip_grad"`
	AccumulativeCounts *int            `json:"accumulative_counts"`
	Constructor        *string         `json:"constructor"`
	LossScale          json.RawMessage `json:"loss_scale"`
	Dtype              json.RawMessage `json:"dtype"`
}

type paramwiseCfg struct {
	NormDecayMult   *float64        `json:"norm_decay_mult"`
	BiasDecayMult   *float64        `json:"bias_decay_mult"`
	BiasLRMult      *float64        `json:"bias_lr_mult"`
	DWConvDecayMult *float64        `json:"dwconv_decay_mult"`
	FlatDecayMult   *float64        `json:"flat_decay_mult"`
	BypassDuplicate *bool           `json:"bypass_duplicate"`
	CustomKeys      json.RawMessage `json:"custom_keys"`
}

type sgdCfg struct {
	Type           string   `json:"type"`
	LR             *float64 `json:"lr"`
	Momentum       float64  `json:"momentum"`
	Dampening      float64  `json:"dampening"`
	WeightDecay    float64  `json:"weight_decay"`
	Nesterov       bool     `json:"nesterov"`
	Maximize       bool     `json:"maximize"`
	Foreach        *bool    `json:"foreach"`
	Differentiable bool     `json:"differentiable"`
}

type adamCfg struct {
	Type           string    `json:"type"`
	LR             *float64  `json:"lr"`
	Betas          []float64 `json:"betas"`
	Eps            *float64  `json:"eps"`
	WeightDecay    *float64  `json:"weight_decay"`
	Amsgrad        bool      `json:"amsgrad"`
	Foreach        *bool     `json:"foreach"`
	Maximize       bool      `json:"maximize"`
	Capturable     bool      `json:"capturable"`
	Differentiable bool      `json:"differentiable"`
	Fused          *bool     `json:"fused"`
}

// optimizer reads optim_wrapper: OptimWrapper around SGD, with
// paramwise_cfg.
func (b *specBuilder) optimizer() error {
	var ow optimWrapperCfg
	ok, err := b.decode("optim_wrapper", &ow)
	if err != nil {
		return err
	}
	if !ok {
		return b.bad("optim_wrapper", "missing")
	}
	switch ow.Type {
	case "", "OptimWrapper":
	case "AmpOptimWrapper":
		return b.unsupported("optim_wrapper.type", "%q (mixed precision: training runs in float32 on the CPU)", ow.Type)
	default:
		return b.unsupported("optim_wrapper.type", "%q (OptimWrapper)", ow.Type)
	}
	if setRaw(ow.ClipGrad) {
		return b.unsupported("optim_wrapper.clip_grad", "set (gradients are not clipped)")
	}
	if ow.AccumulativeCounts != nil && *ow.AccumulativeCounts != 1 {
		return b.unsupported("optim_wrapper.accumulative_counts", "%d (1)", *ow.AccumulativeCounts)
	}
	if ow.Constructor != nil && *ow.Constructor != "DefaultOptimWrapperConstructor" {
		return b.unsupported("optim_wrapper.constructor", "%q (DefaultOptimWrapperConstructor)", *ow.Constructor)
	}
	if setRaw(ow.LossScale) || setRaw(ow.Dtype) {
		return b.unsupported("optim_wrapper.loss_scale", "set (AmpOptimWrapper arguments)")
	}
	if !setRaw(ow.Optimizer) {
		return b.bad("optim_wrapper.optimizer", "missing")
	}
	var typ struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(ow.Optimizer, &typ); err != nil {
		return b.bad("optim_wrapper.optimizer", "%v", err)
	}
	oc := &b.spec.Optimizer
	switch typ.Type {
	case "SGD":
		var c sgdCfg
		if err := b.cfg.Decode("optim_wrapper.optimizer", &c); err != nil {
			return err
		}
		if c.LR == nil {
			return b.bad("optim_wrapper.optimizer.lr", "missing")
		}
		if c.Maximize || c.Differentiable {
			return b.unsupported("optim_wrapper.optimizer.maximize", "True")
		}
		oc.Type, oc.LR, oc.Momentum, oc.Dampening, oc.WeightDecay, oc.Nesterov = "SGD", *c.LR, c.Momentum, c.Dampening, c.WeightDecay, c.Nesterov
		if oc.LR < 0 || oc.Momentum < 0 || oc.WeightDecay < 0 {
			return b.bad("optim_wrapper.optimizer", "negative lr, momentum or weight_decay")
		}
		if oc.Nesterov && (oc.Momentum <= 0 || oc.Dampening != 0) {
			return b.bad("optim_wrapper.optimizer.nesterov", "Nesterov momentum requires a momentum and zero dampening")
		}
	case "Adam", "AdamW":
		var c adamCfg
		if err := b.cfg.Decode("optim_wrapper.optimizer", &c); err != nil {
			return err
		}
		if c.LR == nil {
			return b.bad("optim_wrapper.optimizer.lr", "missing")
		}
		if c.Amsgrad || c.Maximize || c.Differentiable || c.Fused != nil && *c.Fused || c.Capturable {
			return b.unsupported("optim_wrapper.optimizer.amsgrad", "amsgrad, maximize, fused, capturable or differentiable set")
		}
		oc.Type, oc.LR, oc.Beta1, oc.Beta2, oc.Eps = typ.Type, *c.LR, 0.9, 0.999, 1e-8
		oc.WeightDecay = 0
		if typ.Type == "AdamW" {
			oc.WeightDecay = 1e-2 // torch.optim.AdamW's default
		}
		if c.WeightDecay != nil {
			oc.WeightDecay = *c.WeightDecay
		}
		if c.Eps != nil {
			oc.Eps = *c.Eps
		}
		if c.Betas != nil {
			if len(c.Betas) != 2 {
				return b.bad("optim_wrapper.optimizer.betas", "must be a pair, got %v", c.Betas)
			}
			oc.Beta1, oc.Beta2 = c.Betas[0], c.Betas[1]
		}
		if oc.LR < 0 || oc.Eps < 0 || oc.WeightDecay < 0 || oc.Beta1 < 0 || oc.Beta1 >= 1 || oc.Beta2 < 0 || oc.Beta2 >= 1 {
			return b.bad("optim_wrapper.optimizer", "invalid lr, betas, eps or weight_decay (torch raises)")
		}
	default:
		return b.unsupported("optim_wrapper.optimizer.type", "%q (SGD, Adam, AdamW)", typ.Type)
	}
	if p := ow.ParamwiseCfg; p != nil {
		oc.Paramwise = true
		if p.FlatDecayMult != nil {
			return b.unsupported("optim_wrapper.paramwise_cfg.flat_decay_mult", "set")
		}
		if setRaw(p.CustomKeys) {
			return b.unsupported("optim_wrapper.paramwise_cfg.custom_keys", "set")
		}
		oc.NormDecayMult, oc.BiasDecayMult, oc.BiasLRMult, oc.DWConvDecayMult = p.NormDecayMult, p.BiasDecayMult, p.BiasLRMult, p.DWConvDecayMult
	}
	return nil
}

// schedCommon are the _ParamScheduler arguments every scheduler takes.
type schedCommon struct {
	Type               string   `json:"type"`
	Begin              *int     `json:"begin"`
	End                *float64 `json:"end"`
	ByEpoch            *bool    `json:"by_epoch"`
	ConvertToIterBased bool     `json:"convert_to_iter_based"`
	Verbose            bool     `json:"verbose"`
	LastStep           *int     `json:"last_step"`
}

type withParam struct {
	schedCommon
	ParamName *string `json:"param_name"`
}

var schedulerFamilies = map[string]func(b *specBuilder, path string) (train.Rule, withParam, error){
	"Linear": func(b *specBuilder, path string) (train.Rule, withParam, error) {
		var c struct {
			withParam
			StartFactor *float64 `json:"start_factor"`
			EndFactor   *float64 `json:"end_factor"`
		}
		err := b.cfg.Decode(path, &c)
		r := &train.Linear{StartFactor: 1.0 / 3, EndFactor: 1}
		if c.StartFactor != nil {
			r.StartFactor = *c.StartFactor
		}
		if c.EndFactor != nil {
			r.EndFactor = *c.EndFactor
		}
		if err == nil && (r.StartFactor < 0 || r.StartFactor > 1 || r.EndFactor < 0 || r.EndFactor > 1) {
			err = b.bad(path, "start_factor and end_factor must be between 0 and 1")
		}
		return r, c.withParam, err
	},
	"Constant": func(b *specBuilder, path string) (train.Rule, withParam, error) {
		var c struct {
			withParam
			Factor *float64 `json:"factor"`
		}
		err := b.cfg.Decode(path, &c)
		r := &train.Constant{Factor: 1.0 / 3}
		if c.Factor != nil {
			r.Factor = *c.Factor
		}
		if err == nil && (r.Factor < 0 || r.Factor > 1) {
			err = b.bad(path+".factor", "must be between 0 and 1")
		}
		return r, c.withParam, err
	},
	"CosineAnnealing": func(b *specBuilder, path string) (train.Rule, withParam, error) {
		var c struct {
			withParam
			TMax        *int     `json:"T_max"`
			EtaMin      *float64 `json:"eta_min"`
			EtaMinRatio *float64 `json:"eta_min_ratio"`
		}
		err := b.cfg.Decode(path, &c)
		r := &train.CosineAnnealing{EtaMinRatio: c.EtaMinRatio}
		if c.TMax != nil {
			r.TMax = *c.TMax
		}
		if c.EtaMin != nil {
			r.EtaMin = *c.EtaMin
		}
		if err == nil && c.EtaMin != nil && c.EtaMinRatio != nil {
			err = b.bad(path, "either eta_min or eta_min_ratio should be specified")
		}
		if err == nil && c.TMax != nil && *c.TMax <= 0 {
			err = b.bad(path+".T_max", "must be positive")
		}
		return r, c.withParam, err
	},
	"MultiStep": func(b *specBuilder, path string) (train.Rule, withParam, error) {
		var c struct {
			withParam
			Milestones []int    `json:"milestones"`
			Gamma      *float64 `json:"gamma"`
		}
		err := b.cfg.Decode(path, &c)
		r := &train.MultiStep{Milestones: c.Milestones, Gamma: 0.1}
		if c.Gamma != nil {
			r.Gamma = *c.Gamma
		}
		if err == nil && len(c.Milestones) == 0 {
			err = b.bad(path+".milestones", "missing")
		}
		return r, c.withParam, err
	},
	"Step": func(b *specBuilder, path string) (train.Rule, withParam, error) {
		var c struct {
			withParam
			StepSize *int     `json:"step_size"`
			Gamma    *float64 `json:"gamma"`
		}
		err := b.cfg.Decode(path, &c)
		r := &train.StepDecay{Gamma: 0.1}
		if c.Gamma != nil {
			r.Gamma = *c.Gamma
		}
		if err == nil && (c.StepSize == nil || *c.StepSize <= 0) {
			err = b.bad(path+".step_size", "must be a positive integer")
		}
		if c.StepSize != nil {
			r.StepSize = *c.StepSize
		}
		return r, c.withParam, err
	},
	"Poly": func(b *specBuilder, path string) (train.Rule, withParam, error) {
		var c struct {
			withParam
			EtaMin *float64 `json:"eta_min"`
			Power  *float64 `json:"power"`
		}
		err := b.cfg.Decode(path, &c)
		r := &train.Poly{Power: 1}
		if c.EtaMin != nil {
			r.EtaMin = *c.EtaMin
		}
		if c.Power != nil {
			r.Power = *c.Power
		}
		return r, c.withParam, err
	},
	"Exponential": func(b *specBuilder, path string) (train.Rule, withParam, error) {
		var c struct {
			withParam
			Gamma *float64 `json:"gamma"`
		}
		err := b.cfg.Decode(path, &c)
		r := &train.Exponential{}
		if err == nil && c.Gamma == nil {
			err = b.bad(path+".gamma", "missing")
		}
		if c.Gamma != nil {
			r.Gamma = *c.Gamma
		}
		return r, c.withParam, err
	},
	"OneCycle": func(b *specBuilder, path string) (train.Rule, withParam, error) {
		var c struct {
			withParam
			EtaMax         *float64 `json:"eta_max"`
			TotalSteps     *int     `json:"total_steps"`
			PctStart       *float64 `json:"pct_start"`
			AnnealStrategy *string  `json:"anneal_strategy"`
			DivFactor      *float64 `json:"div_factor"`
			FinalDivFactor *float64 `json:"final_div_factor"`
			ThreePhase     bool     `json:"three_phase"`
		}
		err := b.cfg.Decode(path, &c)
		r := &train.OneCycle{PctStart: 0.3, AnnealStrategy: "cos", DivFactor: 25, FinalDivFactor: 1e4, ThreePhase: c.ThreePhase}
		set := func(dst *float64, v *float64) {
			if v != nil {
				*dst = *v
			}
		}
		set(&r.EtaMax, c.EtaMax)
		set(&r.PctStart, c.PctStart)
		set(&r.DivFactor, c.DivFactor)
		set(&r.FinalDivFactor, c.FinalDivFactor)
		if c.AnnealStrategy != nil {
			r.AnnealStrategy = *c.AnnealStrategy
		}
		if c.TotalSteps != nil {
			r.TotalSteps = *c.TotalSteps
		}
		switch {
		case err != nil:
		case r.AnnealStrategy != "cos" && r.AnnealStrategy != "linear":
			err = b.bad(path+".anneal_strategy", "must be one of \"cos\" or \"linear\", got %q", r.AnnealStrategy)
		case r.PctStart < 0 || r.PctStart > 1:
			err = b.bad(path+".pct_start", "must be between 0 and 1")
		case c.TotalSteps != nil && *c.TotalSteps <= 0:
			err = b.bad(path+".total_steps", "must be a positive integer")
		case r.EtaMax <= 0:
			err = b.bad(path+".eta_max", "must be positive")
		}
		return r, c.withParam, err
	},
}

// schedulerTypes maps each registered type to its family and parameter
// ("" reads param_name).
var schedulerTypes = map[string][2]string{}

func init() {
	for fam := range schedulerFamilies {
		schedulerTypes[fam+"ParamScheduler"] = [2]string{fam, ""}
		schedulerTypes[fam+"LR"] = [2]string{fam, "lr"}
		if fam != "OneCycle" {
			schedulerTypes[fam+"Momentum"] = [2]string{fam, "momentum"}
		}
	}
}

// schedulers reads param_scheduler (a dict or a list), with mmengine's
// default end (max_epochs or max_iters) and convert_to_iter_based.
func (b *specBuilder) schedulers() error {
	if !b.has("param_scheduler") {
		return nil
	}
	path := "param_scheduler"
	v, _ := b.cfg.Get(path)
	var paths []string
	switch l := v.(type) {
	case []config.Value:
		for i := range l {
			paths = append(paths, fmt.Sprintf("%s.%d", path, i))
		}
	case config.Tuple:
		for i := range l {
			paths = append(paths, fmt.Sprintf("%s.%d", path, i))
		}
	default:
		paths = []string{path}
	}
	epochLen := b.spec.Train.EpochLength()
	for _, p := range paths {
		var t typeOnly
		if err := b.cfg.Decode(p, &t); err != nil {
			return err
		}
		kind, ok := schedulerTypes[t.Type]
		if !ok {
			return b.unsupported(p+".type", "%q (one of %s)", t.Type, keyList(schedulerTypes))
		}
		rule, c, err := schedulerFamilies[kind[0]](b, p)
		if err != nil {
			return err
		}
		param := kind[1]
		if param == "" {
			if c.ParamName == nil || *c.ParamName == "" {
				return b.bad(p+".param_name", "missing")
			}
			param = *c.ParamName
			switch param {
			case "lr", "momentum", "weight_decay", "dampening":
			default:
				return b.bad(p+".param_name", "%q is not a hyper-parameter of the optimizer (lr, momentum, weight_decay, dampening)", param)
			}
		} else if c.ParamName != nil {
			return b.bad(p+".param_name", "%s schedules %s; param_name is not one of its arguments", t.Type, param)
		}
		if c.LastStep != nil && *c.LastStep != -1 {
			return b.unsupported(p+".last_step", "%d (resume from a checkpoint instead)", *c.LastStep)
		}
		byEpoch := c.ByEpoch == nil || *c.ByEpoch
		begin := 0
		if c.Begin != nil {
			begin = *c.Begin
		}
		end := train.Inf
		switch {
		case c.End != nil:
			if *c.End != float64(int(*c.End)) || *c.End > train.Inf {
				return b.bad(p+".end", "must be an integer, got %v", *c.End)
			}
			end = int(*c.End)
		case byEpoch && b.spec.Loop.ByEpoch:
			end = b.spec.Loop.MaxEpochs
		case !byEpoch && !b.spec.Loop.ByEpoch:
			end = b.spec.Loop.MaxIters
		case byEpoch:
			end = 1 // an IterBasedTrainLoop's max_epochs
		default:
			end = b.spec.Loop.MaxEpochs * epochLen
		}
		s, err := train.NewScheduler(rule, param, begin, end, byEpoch, c.ConvertToIterBased, epochLen)
		if err != nil {
			return b.bad(p, "%v", err)
		}
		b.spec.Schedulers = append(b.spec.Schedulers, s)
	}
	return nil
}
