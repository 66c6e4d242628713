package train

import (
	"fmt"
	"math"

	"github.com/mobileone-go/mobileone/pkg/model"
)

// Loss is a classification loss over logits [N, K] and integer labels. It
// returns the loss value (mean over the batch, times the loss weight) and
// its gradient with respect to the logits.
type Loss interface {
	Forward(logits *model.Tensor, labels []int) (float64, *model.Tensor, error)
}

// LabelSmoothLoss is mmpretrain's LabelSmoothLoss with use_sigmoid=False
// and reduction='mean': a soft-target cross entropy
// −Σ_k t_k·log_softmax(x)_k averaged over the batch, with targets
//
//	'original':      t = (1−ε)·onehot + ε/K
//	'classy_vision': the same with ε replaced by ε/(1+ε)
//
// ('multi_label' is not supported: it needs sigmoid outputs).
type LabelSmoothLoss struct {
	LabelSmoothVal float64 // ε
	Mode           string  // "original" (default) or "classy_vision"
	LossWeight     float64 // default 1
}

// CrossEntropyLoss is mmpretrain's CrossEntropyLoss (softmax, mean over
// the batch, optional loss weight).
type CrossEntropyLoss struct {
	LossWeight float64 // default 1
}

// LabelError reports a label outside [0, K).
type LabelError struct {
	Index, Label, NumClasses int
}

func (e *LabelError) Error() string {
	return fmt.Sprintf("train: label %d of sample %d is outside [0, %d)", e.Label, e.Index, e.NumClasses)
}

// softTargetCE computes the mean soft-target cross entropy and its
// gradient (softmax − t)/N, in float64 per row.
func softTargetCE(logits *model.Tensor, labels []int, eps, weight float64) (float64, *model.Tensor, error) {
	if len(logits.Shape) != 2 || logits.Shape[0] != len(labels) {
		return 0, nil, &model.ShapeError{Got: logits.Shape, Want: fmt.Sprintf("[%d, K]", len(labels))}
	}
	n, k := logits.Shape[0], logits.Shape[1]
	grad := model.NewTensor(n, k)
	total := 0.0
	for i := 0; i < n; i++ {
		if labels[i] < 0 || labels[i] >= k {
			return 0, nil, &LabelError{Index: i, Label: labels[i], NumClasses: k}
		}
		row := logits.Data[i*k : (i+1)*k]
		mx := float64(row[0])
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(s)
		for j, v := range row {
			t := eps / float64(k)
			if j == labels[i] {
				t += 1 - eps
			}
			logp := float64(v) - lse
			total -= t * logp
			grad.Data[i*k+j] = float32(weight * (math.Exp(logp) - t) / float64(n))
		}
	}
	return weight * total / float64(n), grad, nil
}

// Forward implements Loss.
func (l LabelSmoothLoss) Forward(logits *model.Tensor, labels []int) (float64, *model.Tensor, error) {
	eps := l.LabelSmoothVal
	switch l.Mode {
	case "", "original":
	case "classy_vision":
		eps = eps / (1 + eps)
	default:
		return 0, nil, configErrorf("model.head.loss.mode", "%q is not supported (original, classy_vision)", l.Mode)
	}
	w := l.LossWeight
	if w == 0 {
		w = 1
	}
	return softTargetCE(logits, labels, eps, w)
}

// Forward implements Loss.
func (l CrossEntropyLoss) Forward(logits *model.Tensor, labels []int) (float64, *model.Tensor, error) {
	w := l.LossWeight
	if w == 0 {
		w = 1
	}
	return softTargetCE(logits, labels, 0, w)
}

// NewLoss builds the loss of model.head.loss (a decoded config dict).
func NewLoss(cfg map[string]any) (Loss, error) {
	typ, _ := cfg["type"].(string)
	num := func(key string, def float64) (float64, error) {
		v, ok := cfg[key]
		if !ok || v == nil {
			return def, nil
		}
		f, ok := v.(float64)
		if !ok {
			return 0, configErrorf("model.head.loss."+key, "want a number, got %v", v)
		}
		return f, nil
	}
	known := map[string]bool{"type": true, "loss_weight": true}
	var out Loss
	switch typ {
	case "LabelSmoothLoss":
		known["label_smooth_val"], known["mode"], known["reduction"], known["use_sigmoid"], known["num_classes"] = true, true, true, true, true
		eps, err := num("label_smooth_val", 0)
		if err != nil {
			return nil, err
		}
		if eps < 0 || eps >= 1 {
			return nil, configErrorf("model.head.loss.label_smooth_val", "%v must be in [0, 1)", eps)
		}
		mode, _ := cfg["mode"].(string)
		if mode == "" {
			mode = "original"
		}
		if mode != "original" && mode != "classy_vision" {
			return nil, configErrorf("model.head.loss.mode", "%q is not supported (original, classy_vision)", mode)
		}
		w, err := num("loss_weight", 1)
		if err != nil {
			return nil, err
		}
		out = LabelSmoothLoss{LabelSmoothVal: eps, Mode: mode, LossWeight: w}
	case "CrossEntropyLoss":
		known["reduction"], known["use_sigmoid"], known["use_soft"] = true, true, true
		w, err := num("loss_weight", 1)
		if err != nil {
			return nil, err
		}
		if b, _ := cfg["use_sigmoid"].(bool); b {
			return nil, configErrorf("model.head.loss.use_sigmoid", "sigmoid cross entropy is not supported")
		}
		out = CrossEntropyLoss{LossWeight: w}
	default:
		return nil, configErrorf("model.head.loss.type", "%q is not supported (LabelSmoothLoss, CrossEntropyLoss)", typ)
	}
	if r, ok := cfg["reduction"].(string); ok && r != "mean" {
		return nil, configErrorf("model.head.loss.reduction", "%q is not supported (mean)", r)
	}
	for k := range cfg {
		if !known[k] {
			return nil, configErrorf("model.head.loss."+k, "unknown key")
		}
	}
	return out, nil
}
