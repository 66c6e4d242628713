package train

import (
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
