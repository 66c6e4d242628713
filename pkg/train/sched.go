package train

import (
	"fmt"
	"math"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
)

// Inf is mmengine's INF (int(1e9)), a scheduler's end when none is set.
const Inf = 1_000_000_000

// Rule is the formula of one parameter scheduler type, in mmengine's
// recursive (chainable) form: the new value from the group's current
// value, its base (initial_<param>) value and the scheduler's step t
// (last_step).
type Rule interface {
	// Type is the mmengine class name of the ParamScheduler variant
	// ("LinearParamScheduler"); the registry maps LinearLR etc. to it.
	Type() string
	Value(cur, base float64, t int) float64
	// convert scales the rule's step counts by the epoch length
	// (build_iter_from_epoch).
	convert(epochLen int)
	// setSpan tells the rule its begin and end (total_iters, T_max).
	setSpan(begin, end int)
	// state adds the rule's attributes to its state dict.
	state(d *checkpoint.Dict)
}

// Scheduler is one mmengine parameter scheduler acting on a param-group key
// ("lr", "weight_decay", "momentum") of every group. Values are computed in
// the chainable form from the groups' current values, so schedulers on the
// same key compose, and a group whose initial value is 0 still moves
// towards eta_min.
//
// Begin and End count epochs when ByEpoch, else iterations; pkg/setup
// converts convert_to_iter_based ones (NewScheduler) before the run.
type Scheduler struct {
	Rule      Rule
	ParamName string
	Begin     int
	End       int // Inf: no end
	ByEpoch   bool

	LastStep   int // mmengine last_step
	GlobalStep int // mmengine _global_step
	baseValues []float64
	lastValue  []float64
}

// NewScheduler makes a scheduler; with convert (convert_to_iter_based) an
// epoch-based one becomes iteration-based over epochLen iterations per
// epoch, as build_iter_from_epoch does.
func NewScheduler(rule Rule, param string, begin, end int, byEpoch, convert bool, epochLen int) (*Scheduler, error) {
	if convert {
		if !byEpoch {
			return nil, fmt.Errorf("convert_to_iter_based needs by_epoch=True")
		}
		if epochLen <= 0 {
			return nil, fmt.Errorf("convert_to_iter_based needs a positive epoch length, got %d", epochLen)
		}
		rule.convert(epochLen)
		begin *= epochLen
		if end != Inf {
			end *= epochLen
		}
		byEpoch = false
	}
	if begin < 0 || end <= begin {
		return nil, fmt.Errorf("end should be larger than begin, but got begin=%d, end=%d", begin, end)
	}
	rule.setSpan(begin, end)
	return &Scheduler{Rule: rule, ParamName: param, Begin: begin, End: end, ByEpoch: byEpoch}, nil
}

// Init records initial_<param> in the groups (setdefault), as mmengine's
// constructor does, and performs the initial step.
func (s *Scheduler) Init(o *Optimizer) error {
	s.baseValues = nil
	if oc, ok := s.Rule.(*OneCycle); ok {
		if err := oc.initGroups(o, s.ParamName); err != nil {
			return err
		}
	}
	for _, g := range o.scheduled() {
		if _, ok := g.Initial[s.ParamName]; !ok {
			v, ok := g.Get(s.ParamName)
			if !ok {
				return configErrorf("param_scheduler", "%s: the optimizer has no %q", s.Rule.Type(), s.ParamName)
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
func (s *Scheduler) Step(o *Optimizer) {
	s.GlobalStep++
	if s.Begin <= s.GlobalStep && s.GlobalStep < s.End {
		s.LastStep++
		for i, g := range o.scheduled() {
			cur, _ := g.Get(s.ParamName)
			g.Set(s.ParamName, s.Rule.Value(cur, s.baseValues[i], s.LastStep))
		}
	}
	s.lastValue = s.lastValue[:0]
	for _, g := range o.scheduled() {
		v, _ := g.Get(s.ParamName)
		s.lastValue = append(s.lastValue, v)
	}
}

// StateDict is the scheduler's state_dict() as mmengine saves it in
// "param_schedulers": its __dict__ without the optimizer.
func (s *Scheduler) StateDict() *checkpoint.Dict {
	d := checkpoint.NewDict()
	d.Set("param_name", s.ParamName)
	d.Set("begin", int64(s.Begin))
	d.Set("end", int64(s.End))
	d.Set("by_epoch", s.ByEpoch)
	s.Rule.state(d)
	d.Set("base_values", floatList(s.baseValues))
	d.Set("last_step", int64(s.LastStep))
	d.Set("verbose", false)
	d.Set("_global_step", int64(s.GlobalStep))
	d.Set("_last_value", floatList(s.lastValue))
	return d
}

func floatList(v []float64) checkpoint.List {
	l := make(checkpoint.List, len(v))
	for i, x := range v {
		l[i] = x
	}
	return l
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

func pyMod(a, b int) int {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Linear is LinearParamScheduler (LinearLR, LinearMomentum):
// factor from StartFactor to EndFactor over end−begin−1 steps.
type Linear struct {
	StartFactor, EndFactor float64 // defaults 1/3 and 1
	totalIters             int
}

func (*Linear) Type() string             { return "LinearParamScheduler" }
func (*Linear) convert(int)              {}
func (l *Linear) setSpan(begin, end int) { l.totalIters = end - begin - 1 }
func (l *Linear) Value(cur, _ float64, t int) float64 {
	if t == 0 {
		return cur * l.StartFactor
	}
	return cur * (1 + (l.EndFactor-l.StartFactor)/(float64(l.totalIters)*l.StartFactor+float64(t-1)*(l.EndFactor-l.StartFactor)))
}
func (l *Linear) state(d *checkpoint.Dict) {
	d.Set("start_factor", l.StartFactor)
	d.Set("end_factor", l.EndFactor)
	d.Set("total_iters", int64(l.totalIters))
}

// Constant is ConstantParamScheduler (ConstantLR, ConstantMomentum): the
// value times Factor until end−begin−1 steps.
type Constant struct {
	Factor     float64 // default 1/3
	totalIters int
}

func (*Constant) Type() string             { return "ConstantParamScheduler" }
func (*Constant) convert(int)              {}
func (c *Constant) setSpan(begin, end int) { c.totalIters = end - begin - 1 }
func (c *Constant) Value(cur, _ float64, t int) float64 {
	switch {
	case t == 0:
		return cur * c.Factor
	case t != c.totalIters:
		return cur
	}
	return cur * (1 / c.Factor)
}
func (c *Constant) state(d *checkpoint.Dict) {
	d.Set("factor", c.Factor)
	d.Set("total_iters", int64(c.totalIters))
}

// CosineAnnealing is CosineAnnealingParamScheduler (CosineAnnealingLR,
// CosineAnnealingMomentum): cosine from the base value to EtaMin (or
// base·EtaMinRatio) over TMax steps (default end−begin).
type CosineAnnealing struct {
	TMax        int // 0: end − begin
	EtaMin      float64
	EtaMinRatio *float64
}

func (*CosineAnnealing) Type() string { return "CosineAnnealingParamScheduler" }
func (c *CosineAnnealing) convert(n int) {
	c.TMax *= n
}
func (c *CosineAnnealing) setSpan(begin, end int) {
	if c.TMax == 0 {
		c.TMax = end - begin
	}
}
func (c *CosineAnnealing) Value(cur, base float64, t int) float64 {
	etaMin := c.EtaMin
	if c.EtaMinRatio != nil {
		etaMin = base * *c.EtaMinRatio
	}
	T := float64(c.TMax)
	if t == 0 {
		return cur
	}
	if pyMod(t-1-c.TMax, 2*c.TMax) == 0 {
		return cur + (base-etaMin)*(1-math.Cos(math.Pi/T))/2
	}
	return (1+math.Cos(math.Pi*float64(t)/T))/(1+math.Cos(math.Pi*float64(t-1)/T))*(cur-etaMin) + etaMin
}
func (c *CosineAnnealing) state(d *checkpoint.Dict) {
	d.Set("T_max", int64(c.TMax))
	if c.EtaMinRatio != nil {
		d.Set("eta_min", nil)
		d.Set("eta_min_ratio", *c.EtaMinRatio)
	} else {
		d.Set("eta_min", c.EtaMin)
		d.Set("eta_min_ratio", nil)
	}
}

// MultiStep is MultiStepParamScheduler (MultiStepLR): the value times
// Gamma^count at each milestone.
type MultiStep struct {
	Milestones []int
	Gamma      float64 // default 0.1
}

func (*MultiStep) Type() string { return "MultiStepParamScheduler" }
func (m *MultiStep) convert(n int) {
	for i := range m.Milestones {
		m.Milestones[i] *= n
	}
}
func (*MultiStep) setSpan(int, int) {}
func (m *MultiStep) Value(cur, _ float64, t int) float64 {
	c := 0
	for _, s := range m.Milestones {
		if s == t {
			c++
		}
	}
	if c == 0 {
		return cur
	}
	return cur * math.Pow(m.Gamma, float64(c))
}
func (m *MultiStep) state(d *checkpoint.Dict) {
	// milestones is a collections.Counter upstream; saved as a plain dict.
	ms := checkpoint.NewDict()
	for _, s := range m.Milestones {
		v, _ := ms.Get(int64(s))
		n, _ := v.(int64)
		ms.Set(int64(s), n+1)
	}
	d.Set("milestones", ms)
	d.Set("gamma", m.Gamma)
}

// StepDecay is StepParamScheduler (StepLR): the value times Gamma every
// StepSize steps.
type StepDecay struct {
	StepSize int
	Gamma    float64 // default 0.1
}

func (*StepDecay) Type() string     { return "StepParamScheduler" }
func (s *StepDecay) convert(n int)  { s.StepSize *= n }
func (*StepDecay) setSpan(int, int) {}
func (s *StepDecay) Value(cur, _ float64, t int) float64 {
	if t == 0 || t%s.StepSize != 0 {
		return cur
	}
	return cur * s.Gamma
}
func (s *StepDecay) state(d *checkpoint.Dict) {
	d.Set("step_size", int64(s.StepSize))
	d.Set("gamma", s.Gamma)
}

// Poly is PolyParamScheduler (PolyLR): polynomial decay to EtaMin over
// end−begin−1 steps.
type Poly struct {
	EtaMin     float64
	Power      float64 // default 1
	totalIters int
}

func (*Poly) Type() string             { return "PolyParamScheduler" }
func (*Poly) convert(int)              {}
func (p *Poly) setSpan(begin, end int) { p.totalIters = end - begin - 1 }
func (p *Poly) Value(cur, _ float64, t int) float64 {
	if t == 0 {
		return cur
	}
	return (cur-p.EtaMin)*math.Pow(1-1/float64(p.totalIters-t+1), p.Power) + p.EtaMin
}
func (p *Poly) state(d *checkpoint.Dict) {
	d.Set("eta_min", p.EtaMin)
	d.Set("power", p.Power)
	d.Set("total_iters", int64(p.totalIters))
}

// Exponential is ExponentialParamScheduler (ExponentialLR): the value
// times Gamma every step.
type Exponential struct {
	Gamma float64
}

func (*Exponential) Type() string     { return "ExponentialParamScheduler" }
func (*Exponential) convert(int)      {}
func (*Exponential) setSpan(int, int) {}
func (e *Exponential) Value(cur, _ float64, t int) float64 {
	if t == 0 {
		return cur
	}
	return cur * e.Gamma
}
func (e *Exponential) state(d *checkpoint.Dict) { d.Set("gamma", e.Gamma) }
