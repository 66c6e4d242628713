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
	LabelSmoothVal float64  // ε
	Mode           string   // "original" (default) or "classy_vision"
	LossWeight     *float64 // nil: 1 (an explicit 0 zeroes the loss, as upstream)
}

// CrossEntropyLoss is mmpretrain's CrossEntropyLoss (softmax, mean over
// the batch, optional loss weight).
type CrossEntropyLoss struct {
	LossWeight *float64 // nil: 1 (an explicit 0 zeroes the loss, as upstream)
}

// lossWeight is w, or 1 when it is not set.
func lossWeight(w *float64) float64 {
	if w == nil {
		return 1
	}
	return *w
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
	return softTargetCE(logits, labels, eps, lossWeight(l.LossWeight))
}

// Forward implements Loss.
func (l CrossEntropyLoss) Forward(logits *model.Tensor, labels []int) (float64, *model.Tensor, error) {
	return softTargetCE(logits, labels, 0, lossWeight(l.LossWeight))
}
