package evaluate

import (
	"errors"
	"fmt"
)

// Sample is one prediction as mmpretrain's metrics read a DataSample:
// the ground truth, and the softmax scores or (for results that hold no
// scores) the predicted label with the class count.
type Sample struct {
	GTLabel int
	// PredScore holds one score per class; nil when the sample carries a
	// predicted label only.
	PredScore  []float32
	PredLabel  int // used when PredScore is nil
	NumClasses int // used when PredScore is nil
}

// sampleMode records whether a metric has seen scores or labels: upstream
// decides from the first result, so a mix is refused.
type sampleMode int

const (
	modeUnset sampleMode = iota
	modeScore
	modeLabel
)

func (m *sampleMode) set(s *Sample) error {
	want := modeScore
	if s.PredScore == nil {
		want = modeLabel
	}
	switch *m {
	case modeUnset:
		*m = want
	case want:
	default:
		return errors.New("some samples carry pred_score and others only pred_label")
	}
	return nil
}

var errEmpty = errors.New("no samples were processed")

// metric is one evaluator of a config's val_evaluator / test_evaluator
// list. It accumulates what its results need sample by sample (counts,
// never the scores), so memory does not grow with the data set.
type metric interface {
	process(s *Sample) error
	// compute returns the metrics without the prefix.
	compute() ([]Metric, error)
	reset()
	prefix() string
}

var (
	_ metric = (*Accuracy)(nil)
	_ metric = (*SingleLabelMetric)(nil)
	_ metric = (*ConfusionMatrix)(nil)
)

// Evaluator is mmengine's Evaluator over mmpretrain's classification
// metrics: the one evaluation of the project, used by `test`, by the
// validation of `train` and by the offline tools (eval-metric,
// confusion-matrix).
//
// Build it from a config with FromConfig (val_evaluator / test_evaluator)
// or from metric values with New. Feed it with Process (a batch of softmax
// scores and labels) or ProcessSample, then call Compute once for the
// metrics of everything processed since the last Reset, named
// "<prefix>/<name>" in the order of the evaluators and their items, e.g.
// accuracy/top1, single-label/precision. Print them with FormatLog.
type Evaluator struct {
	metrics []metric
	n       int
}

// New returns an evaluator over the given metrics: *Accuracy,
// *SingleLabelMetric or *ConfusionMatrix values.
func New(metrics ...metric) (*Evaluator, error) {
	e := &Evaluator{metrics: metrics}
	if len(e.metrics) == 0 {
		return nil, errors.New("evaluate: no metrics")
	}
	return e, nil
}

// Process adds a batch: scores holds len(labels) rows of numClasses
// softmax scores; labels are the ground truths.
func (e *Evaluator) Process(scores []float32, numClasses int, labels []int) error {
	if len(scores) != numClasses*len(labels) {
		return fmt.Errorf("evaluate: %d scores for %d samples of %d classes", len(scores), len(labels), numClasses)
	}
	for i, l := range labels {
		s := Sample{GTLabel: l, PredScore: scores[i*numClasses : (i+1)*numClasses]}
		if err := e.ProcessSample(&s); err != nil {
			return err
		}
	}
	return nil
}

// ProcessSample adds one sample to every metric.
func (e *Evaluator) ProcessSample(s *Sample) error {
	for _, m := range e.metrics {
		if err := m.process(s); err != nil {
			return fmt.Errorf("evaluate: %s: %w", m.prefix(), err)
		}
	}
	e.n++
	return nil
}

// Len returns the number of samples processed since the last Reset.
func (e *Evaluator) Len() int { return e.n }

// Compute returns the metrics of the samples processed so far. Two metrics
// of the same name are an error (give one of them another prefix), as in
// mmengine; so is an evaluation of no samples.
func (e *Evaluator) Compute() ([]Metric, error) {
	if e.n == 0 {
		return nil, errors.New("evaluate: no samples to evaluate (the data set is empty or has no labels)")
	}
	var out []Metric
	seen := map[string]bool{}
	for _, m := range e.metrics {
		ms, err := m.compute()
		if err != nil {
			return nil, fmt.Errorf("evaluate: %s: %w", m.prefix(), err)
		}
		for _, r := range ms {
			r.Name = m.prefix() + "/" + r.Name
			if seen[r.Name] {
				return nil, fmt.Errorf("evaluate: there are multiple evaluation results with the same metric name %s; give the metrics different prefixes", r.Name)
			}
			seen[r.Name] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// Reset forgets the processed samples (before the next validation).
func (e *Evaluator) Reset() {
	for _, m := range e.metrics {
		m.reset()
	}
	e.n = 0
}
