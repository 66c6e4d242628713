package train

import (
	"fmt"
	"math"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
)

// Scheduler is one mmengine parameter scheduler acting on a param-group key
// ("lr", "weight_decay", "momentum") of every group. Values are computed in
// mmengine's recursive (chainable) form from the groups' current values, so
// schedulers on the same key compose, and a group whose initial value is 0
// still moves towards eta_min (spec §2.7).
//
// Begin and End count epochs when ByEpoch, else iterations;
// convert_to_iter_based schedulers are converted by BuildSchedulers.
type Scheduler struct {
	Type      string // LinearLR, CosineAnnealingLR, CosineAnnealingParamScheduler, ConstantLR
	ParamName string
	Begin     int
	End       int // math.MaxInt: no end
	ByEpoch   bool

	// LinearLR / ConstantLR
	StartFactor, EndFactor, Factor float64
	TotalIters                     int
	// CosineAnnealing
	TMax        int
	EtaMin      float64
	EtaMinRatio *float64

	LastStep   int // mmengine last_step
	GlobalStep int // mmengine _global_step
	baseValues []float64
	lastValue  []float64
}

// newScheduler records initial_<param> in the groups (setdefault), as
// mmengine's constructor does, and performs the initial step.
func (s *Scheduler) init(o *SGD) error {
	if s.Begin < 0 || s.End <= s.Begin {
		return configErrorf("param_scheduler", "%s: begin %d / end %d", s.Type, s.Begin, s.End)
	}
	s.baseValues = s.baseValues[:0]
	for _, g := range o.Groups {
		if _, ok := g.Initial[s.ParamName]; !ok {
			v, ok := g.Get(s.ParamName)
			if !ok {
				return configErrorf("param_scheduler", "%s: unknown param_name %q", s.Type, s.ParamName)
			}
			g.Initial[s.ParamName] = v
		}
		s.baseValues = append(s.baseValues, g.Initial[s.ParamName])
	}
	s.LastStep = -1
	s.GlobalStep = -1
	s.Step(o)
	return nil
}

// Step is mmengine's _ParamScheduler.step.
func (s *Scheduler) Step(o *SGD) {
	s.GlobalStep++
	if s.Begin <= s.GlobalStep && s.GlobalStep < s.End {
		s.LastStep++
		for i, g := range o.Groups {
			cur, _ := g.Get(s.ParamName)
			g.Set(s.ParamName, s.value(cur, s.baseValues[i]))
		}
	}
	s.lastValue = s.lastValue[:0]
	for _, g := range o.Groups {
		v, _ := g.Get(s.ParamName)
		s.lastValue = append(s.lastValue, v)
	}
}

func pyMod(a, b int) int {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// value is _get_value for one group.
func (s *Scheduler) value(cur, base float64) float64 {
	t := s.LastStep
	switch s.Type {
	case "LinearLR", "LinearParamScheduler":
		if t == 0 {
			return cur * s.StartFactor
		}
		if t > s.TotalIters {
			return cur
		}
		return cur * (1 + (s.EndFactor-s.StartFactor)/(float64(s.TotalIters)*s.StartFactor+float64(t-1)*(s.EndFactor-s.StartFactor)))
	case "ConstantLR", "ConstantParamScheduler":
		if t == 0 {
			return cur * s.Factor
		}
		if t != s.TotalIters {
			return cur
		}
		return cur * (1 / s.Factor)
	case "CosineAnnealingLR", "CosineAnnealingParamScheduler":
		etaMin := s.EtaMin
		if s.EtaMinRatio != nil {
			etaMin = base * *s.EtaMinRatio
		}
		T := float64(s.TMax)
		if t == 0 {
			return cur
		}
		if pyMod(t-1-s.TMax, 2*s.TMax) == 0 {
			return cur + (base-etaMin)*(1-math.Cos(math.Pi/T))/2
		}
		return (1+math.Cos(math.Pi*float64(t)/T))/(1+math.Cos(math.Pi*float64(t-1)/T))*(cur-etaMin) + etaMin
	}
	panic("train: unknown scheduler " + s.Type)
}

// StateDict is the scheduler's state_dict() as mmengine saves it in
// "param_schedulers": its __dict__ without the optimizer.
func (s *Scheduler) StateDict() *checkpoint.Dict {
	d := checkpoint.NewDict()
	list := func(v []float64) checkpoint.List {
		l := make(checkpoint.List, len(v))
		for i, x := range v {
			l[i] = x
		}
		return l
	}
	d.Set("param_name", s.ParamName)
	d.Set("begin", int64(s.Begin))
	if s.End == math.MaxInt {
		d.Set("end", 1000000000.0)
	} else {
		d.Set("end", int64(s.End))
	}
	d.Set("by_epoch", s.ByEpoch)
	switch s.Type {
	case "LinearLR", "LinearParamScheduler":
		d.Set("start_factor", s.StartFactor)
		d.Set("end_factor", s.EndFactor)
		d.Set("total_iters", int64(s.TotalIters))
	case "ConstantLR", "ConstantParamScheduler":
		d.Set("factor", s.Factor)
		d.Set("total_iters", int64(s.TotalIters))
	default:
		d.Set("T_max", int64(s.TMax))
		d.Set("eta_min", s.EtaMin)
		if s.EtaMinRatio != nil {
			d.Set("eta_min_ratio", *s.EtaMinRatio)
		} else {
			d.Set("eta_min_ratio", nil)
		}
	}
	d.Set("base_values", list(s.baseValues))
	d.Set("last_step", int64(s.LastStep))
	d.Set("verbose", false)
	d.Set("_global_step", int64(s.GlobalStep))
	d.Set("_last_value", list(s.lastValue))
	return d
}

// LoadStateDict restores the step counters and base values.
func (s *Scheduler) LoadStateDict(d *checkpoint.Dict) error {
	get := func(k string) (int, error) {
		v, ok := d.Get(k)
		f, isNum := toFloat(v)
		if !ok || !isNum {
			return 0, fmt.Errorf("scheduler state lacks %s", k)
		}
		return int(f), nil
	}
	var err error
	if s.LastStep, err = get("last_step"); err != nil {
		return err
	}
	if s.GlobalStep, err = get("_global_step"); err != nil {
		return err
	}
	if bv, ok := d.Get("base_values"); ok {
		if l, ok := bv.(checkpoint.List); ok && len(l) == len(s.baseValues) {
			for i, v := range l {
				s.baseValues[i], _ = toFloat(v)
			}
		}
	}
	return nil
}

// SchedulerConfig is one param_scheduler entry, decoded from the config.
type SchedulerConfig map[string]any

// BuildSchedulers instantiates the param_scheduler list for an optimizer,
// converting convert_to_iter_based entries with epochLength iterations per
// epoch, in config order (each one's initial step applied, as the Runner
// does when it builds them).
func BuildSchedulers(cfgs []map[string]any, o *SGD, epochLength int) ([]*Scheduler, error) {
	var out []*Scheduler
	for i, c := range cfgs {
		key := fmt.Sprintf("param_scheduler.%d", i)
		s := &Scheduler{End: math.MaxInt, ByEpoch: true, EndFactor: 1, StartFactor: 1.0 / 3, Factor: 1.0 / 3}
		typ, _ := c["type"].(string)
		s.Type = typ
		switch typ {
		case "LinearLR", "CosineAnnealingLR", "ConstantLR":
			s.ParamName = "lr"
		case "CosineAnnealingParamScheduler", "LinearParamScheduler", "ConstantParamScheduler":
			s.ParamName, _ = c["param_name"].(string)
			if s.ParamName == "" {
				return nil, configErrorf(key+".param_name", "missing")
			}
		default:
			return nil, configErrorf(key+".type", "%q is not supported (LinearLR, CosineAnnealingLR, ConstantLR, CosineAnnealingParamScheduler, LinearParamScheduler, ConstantParamScheduler)", typ)
		}
		convert := false
		var tmax *int
		var totalIters *int
		for k, v := range c {
			f, isNum := toFloat(v)
			switch k {
			case "type", "param_name":
			case "begin":
				s.Begin = int(f)
			case "end":
				if isNum {
					s.End = int(math.Min(f, math.MaxInt32))
				}
			case "by_epoch":
				s.ByEpoch, _ = v.(bool)
			case "convert_to_iter_based":
				convert, _ = v.(bool)
			case "start_factor":
				s.StartFactor = f
			case "end_factor":
				s.EndFactor = f
			case "factor":
				s.Factor = f
			case "T_max":
				if isNum {
					n := int(f)
					tmax = &n
				}
			case "eta_min":
				if isNum {
					s.EtaMin = f
				}
			case "eta_min_ratio":
				if isNum {
					r := f
					s.EtaMinRatio = &r
				}
			case "total_iters":
				n := int(f)
				totalIters = &n
			case "verbose", "last_step":
			default:
				return nil, configErrorf(key+"."+k, "unknown key for %s", typ)
			}
			if !isNum && (k == "begin" || k == "start_factor" || k == "end_factor" || k == "factor") {
				return nil, configErrorf(key+"."+k, "want a number, got %v", v)
			}
		}
		if s.End == int(math.MaxInt32) {
			s.End = math.MaxInt
		}
		if convert {
			if !s.ByEpoch {
				return nil, configErrorf(key+".convert_to_iter_based", "needs by_epoch=True")
			}
			if epochLength <= 0 {
				return nil, configErrorf(key+".convert_to_iter_based", "needs the train dataloader's length")
			}
			s.Begin *= epochLength
			if s.End != math.MaxInt {
				s.End *= epochLength
			}
			if tmax != nil {
				*tmax *= epochLength
			}
			s.ByEpoch = false
		}
		switch s.Type {
		case "CosineAnnealingLR", "CosineAnnealingParamScheduler":
			if tmax == nil {
				if s.End == math.MaxInt {
					return nil, configErrorf(key+".T_max", "needed when end is not set")
				}
				n := s.End - s.Begin
				tmax = &n
			}
			s.TMax = *tmax
			if s.TMax <= 0 {
				return nil, configErrorf(key+".T_max", "must be positive")
			}
		default:
			if totalIters != nil {
				s.TotalIters = *totalIters
				if convert {
					s.TotalIters *= epochLength
				}
			} else {
				if s.End == math.MaxInt {
					s.TotalIters = 5 // mmengine's default
				} else {
					s.TotalIters = s.End - s.Begin - 1
				}
			}
			if s.StartFactor <= 0 || s.StartFactor > 1 {
				return nil, configErrorf(key+".start_factor", "%v must be in (0, 1]", s.StartFactor)
			}
		}
		if err := s.init(o); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
