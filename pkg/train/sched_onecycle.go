package train

import (
	"fmt"
	"math"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
)

// OneCycle is OneCycleParamScheduler (OneCycleLR): from EtaMax/DivFactor
// up to EtaMax over the first PctStart of TotalSteps, then down to
// EtaMax/DivFactor/FinalDivFactor (three_phase: up, back down, then to the
// minimum), annealing by cosine or linearly. It sets the groups'
// initial_lr, max_lr and min_lr, as upstream does.
type OneCycle struct {
	EtaMax         float64
	TotalSteps     int // 0: end − begin
	PctStart       float64
	AnnealStrategy string // "cos" or "linear"
	DivFactor      float64
	FinalDivFactor float64
	ThreePhase     bool
}

func (*OneCycle) Type() string { return "OneCycleParamScheduler" }
func (o *OneCycle) convert(n int) {
	o.TotalSteps *= n
}
func (o *OneCycle) setSpan(begin, end int) {
	if o.TotalSteps == 0 {
		o.TotalSteps = end - begin
	}
}

func (o *OneCycle) initGroups(opt *Optimizer, param string) error {
	if param != "lr" {
		return fmt.Errorf("OneCycle only works for learning rate updating, but got param_name as %s", param)
	}
	for _, g := range opt.scheduled() {
		g.Initial["lr"] = o.EtaMax / o.DivFactor
		g.setExtra("max_lr", o.EtaMax)
		g.setExtra("min_lr", g.Initial["lr"]/o.FinalDivFactor)
	}
	return nil
}

func (o *OneCycle) anneal(start, end, pct float64) float64 {
	if o.AnnealStrategy == "linear" {
		return (end-start)*pct + start
	}
	return end + (start-end)/2*(math.Cos(math.Pi*pct)+1)
}

func (o *OneCycle) Value(_, base float64, t int) float64 {
	initial, mx := base, o.EtaMax
	mn := initial / o.FinalDivFactor
	T := float64(o.TotalSteps)
	type phase struct{ end, start, stop float64 }
	phases := []phase{{o.PctStart*T - 1, initial, mx}, {T - 1, mx, mn}}
	if o.ThreePhase {
		phases = []phase{{o.PctStart*T - 1, initial, mx}, {2*o.PctStart*T - 2, mx, initial}, {T - 1, initial, mn}}
	}
	startStep := 0.0
	for i, p := range phases {
		if float64(t) <= p.end || i == len(phases)-1 {
			return o.anneal(p.start, p.stop, (float64(t)-startStep)/(p.end-startStep))
		}
		startStep = p.end
	}
	return base
}

func (o *OneCycle) state(d *checkpoint.Dict) {
	d.Set("eta_max", o.EtaMax)
	d.Set("div_factor", o.DivFactor)
	d.Set("final_div_factor", o.FinalDivFactor)
	d.Set("total_steps", int64(o.TotalSteps))
}
