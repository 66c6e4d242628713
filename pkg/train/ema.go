package train

import (
	"strings"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// EMA is mmengine's ExponentialMovingAverage as the EMAHook drives it
// (interval 1): after every train iteration
//
//	ema = ema + momentum·(src − ema)   (torch lerp_, float32)
//
// over every float tensor of the state dict when UpdateBuffers (params
// only otherwise, buffers then copied), with integer buffers copied at the
// first update only. Steps counts updates (the "steps" buffer).
type EMA struct {
	Momentum      float64
	UpdateBuffers bool
	Steps         int64
	Model         *model.ImageClassifier // the averaged copy
}

// NewEMA makes the averaged model as a copy of src (mmengine deep-copies
// the model in before_run).
func NewEMA(src *model.ImageClassifier, momentum float64, updateBuffers bool) (*EMA, error) {
	cp, err := model.New(src.Config)
	if err != nil {
		return nil, err
	}
	copyEntries(cp.StateDict(), src.StateDict())
	return &EMA{Momentum: momentum, UpdateBuffers: updateBuffers, Model: cp}, nil
}

func copyEntries(dst, src []model.Entry) {
	for i, e := range dst {
		if e.Kind == model.Counter {
			*e.Count = *src[i].Count
		} else {
			copy(e.Tensor.Data, src[i].Tensor.Data)
		}
	}
}

// Update is BaseAveragedModel.update_parameters(src).
func (e *EMA) Update(src *model.ImageClassifier) {
	dst, s := e.Model.StateDict(), src.StateDict()
	if e.Steps == 0 {
		copyEntries(dst, s)
	} else {
		m := float32(e.Momentum)
		for i, d := range dst {
			if d.Kind == model.Counter || (!e.UpdateBuffers && d.Kind != model.Param) {
				continue
			}
			a, b := d.Tensor.Data, s[i].Tensor.Data
			for j := range a {
				a[j] += m * (b[j] - a[j])
			}
		}
	}
	if !e.UpdateBuffers {
		for i, d := range dst {
			if d.Kind == model.Buffer {
				copy(d.Tensor.Data, s[i].Tensor.Data)
			} else if d.Kind == model.Counter {
				*d.Count = *s[i].Count
			}
		}
	}
	e.Steps++
}

// swapWith exchanges the EMA weights with src's (EMAHook's swap around
// validation).
func (e *EMA) swapWith(src *model.ImageClassifier) {
	dst, s := e.Model.StateDict(), src.StateDict()
	for i, d := range dst {
		if d.Kind == model.Counter {
			*d.Count, *s[i].Count = *s[i].Count, *d.Count
			continue
		}
		a, b := d.Tensor.Data, s[i].Tensor.Data
		for j := range a {
			a[j], b[j] = b[j], a[j]
		}
	}
}

// StateDict is ema_model.state_dict(): "steps" then "module.<key>".
func (e *EMA) StateDict() *checkpoint.StateDict {
	sd := checkpoint.NewStateDict()
	sd.Add("steps", checkpoint.NewInt64([]int{}, []int64{e.Steps}))
	inner := checkpoint.FromEntries(e.Model.StateDict())
	for _, k := range inner.Keys {
		sd.Add("module."+k, inner.Tensors[k])
	}
	return sd
}

// EMAHook is mmengine's EMAHook with ExponentialMovingAverage (interval
// 1): it averages the weights after every train iteration (from
// BeginIter / BeginEpoch on; before that the average is a copy), swaps the
// averaged weights in for validation, and saves them as the checkpoint's
// state_dict with the raw ones under ema_state_dict.
type EMAHook struct {
	BaseHook
	Momentum      float64 // default 0.0002
	UpdateBuffers bool
	BeginIter     int
	BeginEpoch    int

	ema *EMA
}

func (*EMAHook) Name() string { return "EMAHook" }

// BeforeRun copies the model (before its weights are initialized or
// loaded; the first update copies it again).
func (h *EMAHook) BeforeRun(r *Runner) error {
	var err error
	h.ema, err = NewEMA(r.Model, h.Momentum, h.UpdateBuffers)
	return err
}

func (h *EMAHook) BeforeTrain(r *Runner) error {
	if h.BeginEpoch > 0 && h.BeginEpoch > r.MaxEpochs() {
		return configErrorf("custom_hooks.EMAHook.begin_epoch", "%d is beyond max_epochs %d", h.BeginEpoch, r.MaxEpochs())
	}
	if h.BeginEpoch == 0 && h.BeginIter > r.MaxIters {
		return configErrorf("custom_hooks.EMAHook.begin_iter", "%d is beyond max_iters %d", h.BeginIter, r.MaxIters)
	}
	return nil
}

func (h *EMAHook) started(r *Runner) bool {
	if h.BeginEpoch > 0 {
		return r.Epoch+1 >= h.BeginEpoch
	}
	return r.Iter+1 >= h.BeginIter
}

func (h *EMAHook) AfterTrainIter(r *Runner, _ int, _ *IterOutput) error {
	if h.started(r) {
		h.ema.Update(r.Model)
	} else {
		copyEntries(h.ema.Model.StateDict(), r.Model.StateDict())
	}
	return nil
}

func (h *EMAHook) BeforeValEpoch(r *Runner) error {
	h.ema.swapWith(r.Model)
	return nil
}

func (h *EMAHook) AfterValEpoch(r *Runner, _ []Metric) error {
	h.ema.swapWith(r.Model)
	return nil
}

// BeforeSaveCheckpoint adds ema_state_dict and swaps: state_dict gets the
// averaged weights, ema_state_dict's "module.*" the raw ones.
func (h *EMAHook) BeforeSaveCheckpoint(_ *Runner, ck *Checkpoint) error {
	ck.EMA = h.ema.StateDict()
	swapEMAStateDict(ck)
	return nil
}

// AfterLoadCheckpoint restores the average on resume (swapping back first);
// otherwise the average starts as a copy of the loaded weights.
func (h *EMAHook) AfterLoadCheckpoint(r *Runner, ck *Checkpoint) error {
	if ck.EMA != nil && r.Resumed {
		swapEMAStateDict(ck)
		inner := checkpoint.NewStateDict()
		for _, k := range ck.EMA.Keys {
			if mk, ok := strings.CutPrefix(k, "module."); ok {
				inner.Add(mk, ck.EMA.Tensors[k])
			} else if k == "steps" {
				if t := ck.EMA.Tensors[k]; len(t.I64) == 1 {
					h.ema.Steps = t.I64[0]
				}
			}
		}
		return checkpoint.Apply(h.ema.Model.StateDict(), inner)
	}
	if r.Resumed {
		r.Warnf("There is no `ema_state_dict` in checkpoint. `EMAHook` will make a copy of `state_dict` as the initial `ema_state_dict`")
	}
	r.loadPartialQuiet(h.ema.Model.StateDict(), ck.StateDict)
	return nil
}

// swapEMAStateDict is EMAHook._swap_ema_state_dict.
func swapEMAStateDict(ck *Checkpoint) {
	for _, k := range ck.EMA.Keys {
		if mk, ok := strings.CutPrefix(k, "module."); ok {
			if t, ok := ck.StateDict.Tensors[mk]; ok {
				ck.EMA.Tensors[k], ck.StateDict.Tensors[mk] = t, ck.EMA.Tensors[k]
			}
		}
	}
}
