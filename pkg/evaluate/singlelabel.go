package evaluate

import (
	"fmt"
	"slices"
)

// Average is SingleLabelMetric's average: "macro", "micro" or "" for
// None (classwise).
type Average string

// The averages of SingleLabelMetric.
const (
	Macro     Average = "macro"
	Micro     Average = "micro"
	Classwise Average = "" // average=None
)

// Items SingleLabelMetric can report, in the order upstream reports them.
var singleLabelItems = []string{"precision", "recall", "f1-score", "support"}

// SingleLabelMetric is mmpretrain's SingleLabelMetric(thrs, items,
// average, num_classes): precision, recall, f1-score and support from the
// per-class confusion counts. With scores, a sample's prediction is its
// best class (torch.topk(k=1)), a negative one when its score is <= thr;
// num_classes is then the scores' length. The arithmetic is upstream's
// float32 tensor arithmetic: precision = tp/max(pred,1)·100, recall =
// tp/max(gt,1)·100, f1 = 2·p·r/max(p+r, eps32); macro takes torch's mean
// over classes (its cascade sum, then /C), micro computes them on the
// summed counts; support is an integer.
type SingleLabelMetric struct {
	// Thrs are the thresholds; upstream's default is (0.,).
	Thrs []Threshold
	// Items are the reported items; upstream's default is
	// (precision, recall, f1-score).
	Items []string
	// Average is upstream's average (default "macro").
	Average Average
	// NumClasses is used when samples carry a predicted label only.
	NumClasses int
	// Prefix replaces the default name prefix "single-label".
	Prefix string

	counts []classCounts // per threshold (one for label-only samples)
	mode   sampleMode
}

// classCounts are the confusion counts of one threshold.
type classCounts struct{ tp, pred, gt []int64 }

func newClassCounts(c int) classCounts {
	return classCounts{tp: make([]int64, c), pred: make([]int64, c), gt: make([]int64, c)}
}

// NewSingleLabelMetric returns SingleLabelMetric with upstream's defaults
// (thrs=0., items=(precision, recall, f1-score), average='macro').
func NewSingleLabelMetric() *SingleLabelMetric {
	return &SingleLabelMetric{Thrs: []Threshold{Thr(0)}, Items: []string{"precision", "recall", "f1-score"}, Average: Macro}
}

func (m *SingleLabelMetric) prefix() string {
	if m.Prefix != "" {
		return m.Prefix
	}
	return "single-label"
}

func (m *SingleLabelMetric) reset() { m.counts, m.mode = nil, modeUnset }

func checkClass(what string, c, n int) error {
	if c < 0 {
		return fmt.Errorf("%s %d: class values must be non-negative", what, c)
	}
	if c >= n {
		return fmt.Errorf("%s %d: class values must be smaller than num_classes (%d)", what, c, n)
	}
	return nil
}

func (m *SingleLabelMetric) process(s *Sample) error {
	if err := m.mode.set(s); err != nil {
		return err
	}
	if s.PredScore == nil {
		nc := m.NumClasses
		if nc == 0 {
			nc = s.NumClasses
		}
		if nc <= 0 {
			return fmt.Errorf("the `num_classes` must be specified if no `pred_score`")
		}
		if m.counts == nil {
			m.counts = []classCounts{newClassCounts(nc)}
		}
		c := &m.counts[0]
		if len(c.gt) != nc {
			return fmt.Errorf("num_classes changed from %d to %d between samples", len(c.gt), nc)
		}
		if err := checkClass("gt_label", s.GTLabel, nc); err != nil {
			return err
		}
		if err := checkClass("pred_label", s.PredLabel, nc); err != nil {
			return err
		}
		c.gt[s.GTLabel]++
		c.pred[s.PredLabel]++
		if s.PredLabel == s.GTLabel {
			c.tp[s.GTLabel]++
		}
		return nil
	}
	nc := len(s.PredScore)
	if m.counts == nil {
		m.counts = make([]classCounts, len(m.Thrs))
		for i := range m.counts {
			m.counts[i] = newClassCounts(nc)
		}
	}
	if len(m.counts[0].gt) != nc {
		return fmt.Errorf("pred_score has %d classes, earlier samples %d", nc, len(m.counts[0].gt))
	}
	if err := checkClass("gt_label", s.GTLabel, nc); err != nil {
		return err
	}
	pred := TopK(s.PredScore, 1)[0]
	score := s.PredScore[pred]
	for i, thr := range m.Thrs {
		c := &m.counts[i]
		c.gt[s.GTLabel]++
		if thr != nil && score <= float32(*thr) {
			continue
		}
		c.pred[pred]++
		if pred == s.GTLabel {
			c.tp[pred]++
		}
	}
	return nil
}

// prfs computes upstream's _precision_recall_f1_support on one set of
// counts: per class (Classwise), or reduced.
func (m *SingleLabelMetric) prfs(c classCounts) (p, r, f []float32, support []int64) {
	const eps = float32(1.1920928955078125e-07) // torch.finfo(torch.float32).eps
	one := func(tp, pred, gt int64) (float32, float32, float32) {
		pp := float32(float32(tp)/float32(max(pred, 1))) * 100
		rr := float32(float32(tp)/float32(max(gt, 1))) * 100
		ff := float32(float32(2*pp)*rr) / max(float32(pp+rr), eps)
		return pp, rr, ff
	}
	if m.Average == Micro {
		var tp, pred, gt int64
		for i := range c.gt {
			tp += c.tp[i]
			pred += c.pred[i]
			gt += c.gt[i]
		}
		pp, rr, ff := one(tp, pred, gt)
		return []float32{pp}, []float32{rr}, []float32{ff}, []int64{gt}
	}
	n := len(c.gt)
	p, r, f = make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range c.gt {
		p[i], r[i], f[i] = one(c.tp[i], c.pred[i], c.gt[i])
	}
	if m.Average == Classwise {
		return p, r, f, c.gt
	}
	var gt int64
	for _, g := range c.gt {
		gt += g
	}
	mean := func(x []float32) []float32 { return []float32{torchSum(x) / float32(len(x))} }
	return mean(p), mean(r), mean(f), []int64{gt}
}

func (m *SingleLabelMetric) compute() ([]Metric, error) {
	if m.counts == nil {
		return nil, errEmpty
	}
	var out []Metric
	for i, c := range m.counts {
		suffix := ""
		if m.mode == modeScore && len(m.Thrs) > 1 {
			suffix = thrSuffix(m.Thrs[i])
		}
		p, r, f, support := m.prfs(c)
		values := map[string][]float64{"precision": widen(p), "recall": widen(r), "f1-score": widen(f)}
		sup := make([]float64, len(support))
		for j, s := range support {
			sup[j] = float64(s)
		}
		values["support"] = sup
		for _, item := range singleLabelItems {
			if !slices.Contains(m.Items, item) {
				continue
			}
			v, isInt := values[item], item == "support"
			switch m.Average {
			case Classwise:
				out = append(out, Metric{Name: item + suffix + "_classwise", List: v, Int: isInt})
			case Micro:
				out = append(out, Metric{Name: item + suffix + "_micro", Value: v[0], Int: isInt})
			default:
				out = append(out, Metric{Name: item + suffix, Value: v[0], Int: isInt})
			}
		}
	}
	return out, nil
}

func widen(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// ConfusionMatrix is mmpretrain's ConfusionMatrix(num_classes): counts of
// (ground truth, prediction) pairs, the prediction being the argmax of the
// scores (whose length then sets the class count) or the predicted label.
type ConfusionMatrix struct {
	// NumClasses is used when samples carry a predicted label only.
	NumClasses int
	// Prefix replaces the default name prefix "confusion_matrix".
	Prefix string

	matrix [][]int64
	mode   sampleMode
}

func (m *ConfusionMatrix) prefix() string {
	if m.Prefix != "" {
		return m.Prefix
	}
	return "confusion_matrix"
}

func (m *ConfusionMatrix) reset() { m.matrix, m.mode = nil, modeUnset }

func (m *ConfusionMatrix) process(s *Sample) error {
	if err := m.mode.set(s); err != nil {
		return err
	}
	nc, pred := m.NumClasses, s.PredLabel
	if s.PredScore != nil {
		nc = len(s.PredScore)
		pred = TopK(s.PredScore, 1)[0]
	} else if nc == 0 {
		nc = s.NumClasses
	}
	if nc <= 0 {
		return fmt.Errorf("please specify the `num_classes` if the `pred` is labels instead of scores")
	}
	if m.matrix == nil {
		m.matrix = make([][]int64, nc)
		for i := range m.matrix {
			m.matrix[i] = make([]int64, nc)
		}
	}
	if len(m.matrix) != nc {
		return fmt.Errorf("samples with %d and %d classes", len(m.matrix), nc)
	}
	if err := checkClass("gt_label", s.GTLabel, nc); err != nil {
		return err
	}
	if err := checkClass("pred_label", pred, nc); err != nil {
		return err
	}
	m.matrix[s.GTLabel][pred]++
	return nil
}

func (m *ConfusionMatrix) compute() ([]Metric, error) {
	if m.matrix == nil {
		return nil, errEmpty
	}
	out := make([][]int64, len(m.matrix))
	for i, r := range m.matrix {
		out[i] = append([]int64(nil), r...)
	}
	return []Metric{{Name: "result", Matrix: out, Int: true}}, nil
}

// torchSum is torch.sum of a contiguous float32 vector on the CPU, summed
// in the order of ATen's cascade_sum (aten/src/ATen/native/cpu/
// SumKernel.cpp): 8-lane vectors (Vectorized<float>, AVX2 and the default
// build alike) accumulated by row_sum (4 interleaved partial sums, each a
// multi-level cascade of 16-row blocks), then the scalar tail, then the 8
// lanes; below 8 elements the same row_sum over scalars. TestTorchSum
// pins it against torch 1.13 on sizes 1..199 and a few large ones.
func torchSum(x []float32) float32 {
	const lanes = 8
	if len(x) < lanes {
		return rowSum(len(x), 1, func(i int, acc []float32) { acc[0] += x[i] })[0]
	}
	nv := len(x) / lanes
	acc := rowSum(nv, lanes, func(i int, acc []float32) {
		for l := range acc {
			acc[l] += x[i*lanes+l]
		}
	})
	var final float32
	for k := nv * lanes; k < len(x); k++ {
		final += x[k]
	}
	for _, v := range acc {
		final += v
	}
	return final
}

// rowSum is ATen's row_sum over n items of the given lane width: the items
// are read as rows of 4 (ilp_factor) summed by multiRowSum, the leftover
// items go into the first partial sum, and the partial sums are added in
// order. add adds item i into acc.
func rowSum(n, lanes int, add func(i int, acc []float32)) []float32 {
	const ilp = 4
	rows := n / ilp
	partial := multiRowSum(rows, ilp, lanes, func(row, k int, acc []float32) { add(row*ilp+k, acc) })
	for i := rows * ilp; i < n; i++ {
		add(i, partial[0])
	}
	for k := 1; k < ilp; k++ {
		for l := range partial[0] {
			partial[0][l] += partial[k][l]
		}
	}
	return partial[0]
}

// multiRowSum is ATen's multi_row_sum: nrows interleaved sums over size
// rows, in a 4-level cascade whose blocks hold 2^max(4, ceil(log2
// size)/4) rows.
func multiRowSum(size, nrows, lanes int, add func(row, k int, acc []float32)) [][]float32 {
	const levels = 4
	ceilLog2 := 0
	for 1<<ceilLog2 < size {
		ceilLog2++
	}
	power := max(4, ceilLog2/levels)
	step := 1 << power
	mask := step - 1
	acc := make([][][]float32, levels)
	for j := range acc {
		acc[j] = make([][]float32, nrows)
		for k := range acc[j] {
			acc[j][k] = make([]float32, lanes)
		}
	}
	i := 0
	for i+step <= size {
		for j := 0; j < step; j, i = j+1, i+1 {
			for k := 0; k < nrows; k++ {
				add(i, k, acc[0][k])
			}
		}
		for j := 1; j < levels; j++ {
			for k := 0; k < nrows; k++ {
				for l := range acc[j][k] {
					acc[j][k][l] += acc[j-1][k][l]
					acc[j-1][k][l] = 0
				}
			}
			if i&(mask<<(j*power)) != 0 {
				break
			}
		}
	}
	for ; i < size; i++ {
		for k := 0; k < nrows; k++ {
			add(i, k, acc[0][k])
		}
	}
	for j := 1; j < levels; j++ {
		for k := 0; k < nrows; k++ {
			for l := range acc[0][k] {
				acc[0][k][l] += acc[j][k][l]
			}
		}
	}
	return acc[0]
}
