package evaluate

import (
	"fmt"
)

// Threshold is one entry of a metric's thrs: a score threshold, or None
// (no threshold) when nil.
type Threshold = *float64

// Thr returns a Threshold of v.
func Thr(v float64) Threshold { return &v }

// thrSuffix names a threshold as upstream does when a metric has several:
// "_no-thr" for None, "_thr-0.50" (two decimals) otherwise.
func thrSuffix(thr Threshold) string {
	if thr == nil {
		return "_no-thr"
	}
	return fmt.Sprintf("_thr-%.2f", *thr)
}

// Accuracy is mmpretrain's Accuracy(topk, thrs) metric
// (mmpretrain/evaluation/metrics/single_label.py). A sample is correct at
// k and threshold thr when its ground-truth label is among its k best
// scores (torch.topk order: ties keep the lower index first) and, unless
// thr is None, that score is > thr (compared in float32, as the tensor
// comparison does). The value is the float32 product
// correct·float32(100/N), as upstream computes it in a float32 tensor.
//
// Samples that carry only a predicted label (no scores) give top1 only,
// whatever topk and thrs say, as upstream.
type Accuracy struct {
	// Topk are the k values; upstream's default is (1,).
	Topk []int
	// Thrs are the thresholds; upstream's default is (0.,).
	Thrs []Threshold
	// Prefix replaces the default name prefix "accuracy".
	Prefix string

	correct  [][]int // [k][thr]
	labelHit int     // samples with a predicted label only
	n        int
	mode     sampleMode
}

// NewAccuracy returns Accuracy(topk=topk, thrs=0.).
func NewAccuracy(topk ...int) *Accuracy {
	return &Accuracy{Topk: topk, Thrs: []Threshold{Thr(0)}}
}

func (a *Accuracy) prefix() string {
	if a.Prefix != "" {
		return a.Prefix
	}
	return "accuracy"
}

func (a *Accuracy) reset() {
	a.correct, a.labelHit, a.n, a.mode = nil, 0, 0, modeUnset
}

func (a *Accuracy) process(s *Sample) error {
	if err := a.mode.set(s); err != nil {
		return err
	}
	a.n++
	if s.PredScore == nil {
		if s.PredLabel == s.GTLabel {
			a.labelHit++
		}
		return nil
	}
	maxk := 0
	for _, k := range a.Topk {
		maxk = max(maxk, k)
	}
	if maxk > len(s.PredScore) {
		return fmt.Errorf("Top-%d accuracy is unavailable since the number of categories is %d. Please check the `val_evaluator` and `test_evaluator` fields in your config file", maxk, len(s.PredScore))
	}
	if a.correct == nil {
		a.correct = make([][]int, len(a.Topk))
		for i := range a.correct {
			a.correct[i] = make([]int, len(a.Thrs))
		}
	}
	top := TopK(s.PredScore, maxk)
	rank := -1
	for r, c := range top {
		if c == s.GTLabel {
			rank = r
			break
		}
	}
	if rank < 0 {
		return nil
	}
	score := s.PredScore[top[rank]]
	for i, k := range a.Topk {
		if rank >= k {
			continue
		}
		for j, thr := range a.Thrs {
			if thr == nil || score > float32(*thr) {
				a.correct[i][j]++
			}
		}
	}
	return nil
}

// percent is correct·(100/n) as a float32 tensor op: the Python float
// 100/n is rounded to float32 first.
func percent(correct, n int) float64 {
	return float64(float32(correct) * float32(100/float64(n)))
}

func (a *Accuracy) compute() ([]Metric, error) {
	if a.n == 0 {
		return nil, errEmpty
	}
	if a.mode == modeLabel {
		return []Metric{{Name: "top1", Value: percent(a.labelHit, a.n)}}, nil
	}
	var out []Metric
	for i, k := range a.Topk {
		for j, thr := range a.Thrs {
			name := fmt.Sprintf("top%d", k)
			if len(a.Thrs) > 1 {
				name += thrSuffix(thr)
			}
			out = append(out, Metric{Name: name, Value: percent(a.correct[i][j], a.n)})
		}
	}
	return out, nil
}

// TopK returns the indices of the k largest values, best first; ties keep
// the lower index first. It selects in O(len(row)·k), which beats sorting
// for the small k of top-1/top-5 over 1000 classes. This is the one top-k
// of the project: evaluation, infer and the analysis tools use it.
func TopK(row []float32, k int) []int {
	k = min(k, len(row))
	if k <= 0 {
		return nil
	}
	top := make([]int, 0, k)
	for i, v := range row {
		if len(top) == k && !(v > row[top[k-1]]) {
			continue
		}
		// insert i after every entry >= v (earlier indices win ties)
		j := len(top)
		if j == k {
			j--
		} else {
			top = append(top, 0)
		}
		for j > 0 && v > row[top[j-1]] {
			top[j] = top[j-1]
			j--
		}
		top[j] = i
	}
	return top
}
