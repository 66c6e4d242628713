package train

import (
	"fmt"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"sort"
)

// Hook is mmengine's Hook: the Runner calls every hook at each point of the
// run, in priority order (lower first; equal priorities in registration
// order). Embed BaseHook to implement only the points a hook needs.
type Hook interface {
	// Name is the hook's registry name ("CheckpointHook").
	Name() string
	// Priority is mmengine's priority value (see Priorities).
	Priority() int

	BeforeRun(r *Runner) error
	BeforeTrain(r *Runner) error
	BeforeTrainEpoch(r *Runner) error
	BeforeTrainIter(r *Runner, batchIdx int) error
	AfterTrainIter(r *Runner, batchIdx int, out *IterOutput) error
	AfterTrainEpoch(r *Runner) error
	BeforeValEpoch(r *Runner) error
	AfterValEpoch(r *Runner, metrics []Metric) error
	AfterTrain(r *Runner) error
	AfterRun(r *Runner) error
	// BeforeSaveCheckpoint may change the checkpoint dict about to be
	// written; AfterLoadCheckpoint sees the one just resumed from.
	BeforeSaveCheckpoint(r *Runner, ckpt *Checkpoint) error
	AfterLoadCheckpoint(r *Runner, ckpt *Checkpoint) error
}

// IterOutput is what a train iteration produced (train_step's outputs).
type IterOutput struct {
	Loss float64
	LR   float64 // the first param group's lr used by this step
	// BaseLR is base_param_settings' lr (nil without one).
	BaseLR *float64
}

// Metric is one validation result ("accuracy/top1").
type Metric = evaluate.Metric

// BaseHook implements every Hook point as a no-op, at priority NORMAL.
type BaseHook struct{}

func (BaseHook) Priority() int                                   { return PriorityNormal }
func (BaseHook) BeforeRun(*Runner) error                         { return nil }
func (BaseHook) BeforeTrain(*Runner) error                       { return nil }
func (BaseHook) BeforeTrainEpoch(*Runner) error                  { return nil }
func (BaseHook) BeforeTrainIter(*Runner, int) error              { return nil }
func (BaseHook) AfterTrainIter(*Runner, int, *IterOutput) error  { return nil }
func (BaseHook) AfterTrainEpoch(*Runner) error                   { return nil }
func (BaseHook) BeforeValEpoch(*Runner) error                    { return nil }
func (BaseHook) AfterValEpoch(*Runner, []Metric) error           { return nil }
func (BaseHook) AfterTrain(*Runner) error                        { return nil }
func (BaseHook) AfterRun(*Runner) error                          { return nil }
func (BaseHook) BeforeSaveCheckpoint(*Runner, *Checkpoint) error { return nil }
func (BaseHook) AfterLoadCheckpoint(*Runner, *Checkpoint) error  { return nil }

// mmengine's Priority enum.
const (
	PriorityHighest     = 0
	PriorityVeryHigh    = 10
	PriorityHigh        = 30
	PriorityAboveNormal = 40
	PriorityNormal      = 50
	PriorityBelowNormal = 60
	PriorityLow         = 70
	PriorityVeryLow     = 90
	PriorityLowest      = 100
)

// Priorities maps mmengine's priority names to their values.
var Priorities = map[string]int{
	"HIGHEST": PriorityHighest, "VERY_HIGH": PriorityVeryHigh, "HIGH": PriorityHigh,
	"ABOVE_NORMAL": PriorityAboveNormal, "NORMAL": PriorityNormal, "BELOW_NORMAL": PriorityBelowNormal,
	"LOW": PriorityLow, "VERY_LOW": PriorityVeryLow, "LOWEST": PriorityLowest,
}

// withPriority overrides a hook's priority (a config's priority=...).
type withPriority struct {
	Hook
	p int
}

func (w withPriority) Priority() int { return w.p }

// WithPriority returns h with priority p (the `priority` key of a hook
// config).
func WithPriority(h Hook, p int) Hook { return withPriority{h, p} }

// sortHooks orders hooks as Runner.register_hook inserts them: by
// priority, ties in registration order.
func sortHooks(hs []Hook) []Hook {
	out := append([]Hook(nil), hs...)
	sort.SliceStable(out, func(a, b int) bool { return out[a].Priority() < out[b].Priority() })
	return out
}

// unwrapHook returns the hook under a priority override.
func unwrapHook(h Hook) Hook {
	if w, ok := h.(withPriority); ok {
		return w.Hook
	}
	return h
}

// call runs fn on every hook in order and stops at the first error.
func (r *Runner) call(point string, fn func(Hook) error) error {
	for _, h := range r.hooks {
		if err := fn(h); err != nil {
			return fmt.Errorf("train: %s.%s: %w", h.Name(), point, err)
		}
	}
	return nil
}
