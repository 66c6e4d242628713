package train

import (
	"fmt"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"path/filepath"
	"time"
)

// IterTimerHook measures each iteration: data_time (waiting for the batch)
// and time (the whole iteration), read by the LoggerHook.
type IterTimerHook struct {
	BaseHook
	t time.Time
}

func (*IterTimerHook) Name() string { return "IterTimerHook" }

func (h *IterTimerHook) BeforeTrainEpoch(r *Runner) error { h.t = r.now(); return nil }
func (h *IterTimerHook) BeforeTrainIter(r *Runner, _ int) error {
	r.DataTime = r.now().Sub(h.t)
	return nil
}
func (h *IterTimerHook) AfterTrainIter(r *Runner, _ int, _ *IterOutput) error {
	t := r.now()
	r.IterTime = t.Sub(h.t)
	h.t = t
	return nil
}

// DistSamplerSeedHook sets the train sampler's epoch before each epoch, so
// that a shuffling sampler draws a new order per epoch (without it
// DefaultSampler repeats epoch 0's order).
type DistSamplerSeedHook struct{ BaseHook }

func (DistSamplerSeedHook) Name() string { return "DistSamplerSeedHook" }
func (DistSamplerSeedHook) BeforeTrainEpoch(r *Runner) error {
	r.samplerEpoch = r.Epoch
	return nil
}

// ParamSchedulerHook steps the parameter schedulers: the iteration-based
// ones after every train iteration, the epoch-based ones after every
// epoch.
type ParamSchedulerHook struct{ BaseHook }

func (ParamSchedulerHook) Name() string  { return "ParamSchedulerHook" }
func (ParamSchedulerHook) Priority() int { return PriorityLow }
func (ParamSchedulerHook) AfterTrainIter(r *Runner, _ int, _ *IterOutput) error {
	for _, s := range r.Schedulers {
		if !s.ByEpoch {
			s.Step(r.Optim)
		}
	}
	return nil
}
func (ParamSchedulerHook) AfterTrainEpoch(r *Runner) error {
	for _, s := range r.Schedulers {
		if s.ByEpoch {
			s.Step(r.Optim)
		}
	}
	return nil
}

// LoggerHook prints mmengine's log lines every Interval iterations
// (averaging loss and times over the last WindowSize iterations, as
// LogProcessor does), the val metrics after each val loop, and writes
// vis_data/scalars.json and training_curves.png.
type LoggerHook struct {
	BaseHook
	Interval   int  // default 10
	IgnoreLast bool // default true: the last, partial interval of an epoch is not logged
	WindowSize int  // log_processor.window_size, default 10
	// ByEpoch is log_processor.by_epoch (default true, whatever the loop):
	// "Epoch(train) [e][i/n]" lines, else "Iter(train) [i/max_iters]".
	ByEpoch bool

	loss, times, dataTimes window
}

func (*LoggerHook) Name() string  { return "LoggerHook" }
func (*LoggerHook) Priority() int { return PriorityBelowNormal }

// window is a moving window of the last n values.
type window struct {
	vals []float64
	n    int
}

func (w *window) add(v float64) {
	w.vals = append(w.vals, v)
	if len(w.vals) > w.n {
		w.vals = w.vals[1:]
	}
}

func (w *window) mean() float64 {
	if len(w.vals) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range w.vals {
		s += v
	}
	return s / float64(len(w.vals))
}

func (h *LoggerHook) BeforeRun(r *Runner) error {
	if h.Interval <= 0 {
		h.Interval = 10
	}
	if h.WindowSize <= 0 {
		h.WindowSize = 10
	}
	h.loss.n, h.times.n, h.dataTimes.n = h.WindowSize, h.WindowSize, h.WindowSize
	return nil
}

func (h *LoggerHook) AfterTrainIter(r *Runner, idx int, out *IterOutput) error {
	h.loss.add(out.Loss)
	h.times.add(r.IterTime.Seconds())
	h.dataTimes.add(r.DataTime.Seconds())
	if !r.ByEpoch() {
		idx = r.Iter // IterBasedTrainLoop passes the global iteration as batch_idx
	}
	endOfEpoch := idx+1 == r.EpochLen
	if (idx+1)%h.Interval != 0 && !(endOfEpoch && (!h.IgnoreLast || r.EpochLen <= h.Interval)) {
		return nil
	}
	eta := time.Duration(h.times.mean() * float64(r.MaxIters-r.Iter-1) * float64(time.Second))
	stamp := r.now().Format("01/02 15:04:05")
	loss, el, dt := h.loss.mean(), h.times.mean(), h.dataTimes.mean()
	// LogProcessor.get_log_after_iter: the lr items (base_lr first when the
	// optimizer keeps base_param_settings) joined by one space.
	lrs := fmt.Sprintf("lr: %.4e", out.LR)
	sc := map[string]any{"lr": out.LR}
	if out.BaseLR != nil {
		lrs = fmt.Sprintf("base_lr: %.4e %s", *out.BaseLR, lrs)
		sc["base_lr"] = *out.BaseLR
	}
	var head string
	if h.ByEpoch {
		epoch := fmt.Sprintf("[%d]", r.Epoch+1)
		maxEpochs := r.MaxEpochs()
		if !r.ByEpoch() {
			maxEpochs = 1 // an IterBasedTrainLoop's max_epochs
		}
		head = fmt.Sprintf("Epoch(train)%*s[%*d/%d]", len(fmt.Sprint(maxEpochs))+3, epoch, len(fmt.Sprint(r.EpochLen)), idx+1, r.EpochLen)
	} else {
		head = fmt.Sprintf("Iter(train) [%*d/%d]", len(fmt.Sprint(r.MaxIters)), r.Iter+1, r.MaxIters)
	}
	fmt.Fprintf(r.log, "%s - mmengine - INFO - %s  %s  eta: %s  time: %.4f  data_time: %.4f  loss: %.4f\n",
		stamp, head, lrs, fmtETA(eta), el, dt, loss)
	sc["data_time"], sc["loss"], sc["time"], sc["epoch"], sc["iter"], sc["step"] = dt, loss, el, r.Epoch+1, r.Iter+1, r.Iter+1
	r.scalar(sc)
	r.history.add("loss", r.Iter+1, loss)
	r.history.add("lr", r.Iter+1, out.LR)
	return nil
}

func (h *LoggerHook) AfterValEpoch(r *Runner, metrics []Metric) error {
	v := r.valStats
	nb := max(v.batches, 1)
	line := ""
	if len(metrics) > 0 {
		line = evaluate.FormatLog(metrics) + "  "
	}
	sc := map[string]any{}
	for _, m := range metrics {
		if m.Scalar() {
			sc[m.Name] = m.Value
		}
	}
	step := r.Iter
	stamp := r.now().Format("01/02 15:04:05")
	tm, dt := v.time.Seconds()/float64(nb), v.dataTime.Seconds()/float64(nb)
	if r.ByEpoch() {
		step = r.Epoch
	}
	if h.ByEpoch {
		fmt.Fprintf(r.log, "%s - mmengine - INFO - Epoch(val) [%d][%d/%d]    %sdata_time: %.4f  time: %.4f\n", stamp, r.Epoch, v.batches, v.batches, line, dt, tm)
	} else {
		fmt.Fprintf(r.log, "%s - mmengine - INFO - Iter(val) [%d/%d]    %sdata_time: %.4f  time: %.4f\n", stamp, v.batches, v.batches, line, dt, tm)
	}
	sc["data_time"], sc["time"], sc["step"] = dt, tm, step
	r.scalar(sc)
	for _, m := range metrics {
		if m.Name == "accuracy/top1" {
			r.history.add("top1", step, m.Value)
		}
	}
	return r.history.plot(filepath.Join(r.WorkDir, "training_curves.png"), r.ByEpoch())
}

func fmtETA(d time.Duration) string {
	s := int(d.Seconds())
	days := s / 86400
	s %= 86400
	out := fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	if days > 0 {
		return fmt.Sprintf("%d day(s), %s", days, out)
	}
	return out
}
