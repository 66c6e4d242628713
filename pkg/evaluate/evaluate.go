// Package evaluate runs a model over a dataset and computes mmpretrain's
// classification metrics. It serves `mobileone test` and the validation
// loop of training.
package evaluate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// Metric is one named result, e.g. accuracy/top1 = 43.33333206176758.
type Metric struct {
	Name  string
	Value float64
}

// Accuracy is mmpretrain's Accuracy(topk=..., thrs=0.): a sample counts as
// correct at k when its label is among the k best scores and that score is
// > 0; the value is the float32 product correct·(100/N), as upstream
// computes it in a float32 tensor.
type Accuracy struct {
	TopK    []int
	correct []int
	total   int
}

// NewAccuracy returns an accumulator for the given k values (e.g. 1, 5).
func NewAccuracy(topk ...int) *Accuracy {
	return &Accuracy{TopK: topk, correct: make([]int, len(topk))}
}

// Update adds samples: scores holds len(labels) rows of numClasses
// softmax scores.
func (a *Accuracy) Update(scores []float32, numClasses int, labels []int) error {
	maxk := 0
	for _, k := range a.TopK {
		maxk = max(maxk, k)
	}
	if maxk > numClasses {
		return fmt.Errorf("evaluate: accuracy top-%d needs at least %d classes, the model has %d", maxk, maxk, numClasses)
	}
	for i, label := range labels {
		row := scores[i*numClasses : (i+1)*numClasses]
		top := TopK(row, maxk)
		for j, k := range a.TopK {
			for _, c := range top[:k] {
				if c == label && row[c] > 0 {
					a.correct[j]++
					break
				}
			}
		}
	}
	a.total += len(labels)
	return nil
}

// Results returns accuracy/top<k> for every k, as percentages.
func (a *Accuracy) Results() []Metric {
	out := make([]Metric, len(a.TopK))
	for j, k := range a.TopK {
		v := float32(0)
		if a.total > 0 {
			v = float32(a.correct[j]) * float32(100/float64(a.total))
		}
		out[j] = Metric{Name: fmt.Sprintf("accuracy/top%d", k), Value: float64(v)}
	}
	return out
}

// Counts returns the number of correct samples per k and the total.
func (a *Accuracy) Counts() ([]int, int) { return append([]int(nil), a.correct...), a.total }

// TopK returns the indices of the k largest values, best first; ties keep
// the lower index first. It selects in O(len(row)·k), which beats sorting
// for the small k of top-1/top-5 over 1000 classes.
func TopK(row []float32, k int) []int {
	k = min(k, len(row))
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

// Prediction is one sample's result, as mmpretrain's DumpResults writes it.
type Prediction struct {
	SampleIdx  int       `json:"sample_idx"`
	ImgPath    string    `json:"img_path"`
	GTLabel    int       `json:"gt_label"`
	PredLabel  int       `json:"pred_label"`
	PredScore  []float32 `json:"pred_score"`
	NumClasses int       `json:"num_classes"`
}

// Options tune Run.
type Options struct {
	// TTA averages the softmax scores of the horizontally flipped and the
	// original view, flipped first (mmpretrain's AverageClsScoreTTA with
	// --tta).
	TTA bool
	// KeepPredictions collects a Prediction per sample.
	KeepPredictions bool
	// TopK are the accuracy k values (default 1 and 5).
	TopK []int
	// Chunk is the largest number of images per forward pass (default
	// 32): batches are split so that activation memory stays bounded
	// whatever the batch size. In eval mode the results do not depend on
	// it.
	Chunk int
	// Progress is called after each batch with the samples done so far
	// (evaluated or skipped).
	Progress func(done int, elapsed, dataTime time.Duration)
}

// Result is what Run returns.
type Result struct {
	// Metrics are accuracy/top<k>; nil when the dataset has no labels.
	Metrics     []Metric
	Predictions []Prediction
	Samples     int // samples evaluated
	Batches     int // batches of the loader, including wholly skipped ones
	Skipped     []imagenet.SampleError
	Time        time.Duration // wall time
	DataTime    time.Duration // time spent waiting for batches
}

// Run evaluates m (eval mode) on every batch of loader and computes the
// accuracy. A dataset without labels (label -1, e.g. ImageNet split
// "test") gives no metrics, as accuracy needs ground truth.
func Run(ctx context.Context, m Classifier, loader *imagenet.Loader, opts Options) (*Result, error) {
	topk := opts.TopK
	if len(topk) == 0 {
		topk = []int{1, 5}
	}
	chunk := opts.Chunk
	if chunk <= 0 {
		chunk = 32
	}
	acc := NewAccuracy(topk...)
	k := m.NumClasses()
	res := &Result{}
	labeled := false
	start := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		b, err := loader.Next(ctx)
		res.DataTime += time.Since(t0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		scores, flipLabels, err := chunkedScores(m, b, opts.TTA, chunk)
		if err != nil {
			return nil, err
		}
		var rows []float32
		var labels []int
		for i, l := range b.Labels {
			if l >= 0 {
				rows = append(rows, scores[i*k:(i+1)*k]...)
				labels = append(labels, l)
			}
		}
		if len(labels) > 0 {
			labeled = true
			if err := acc.Update(rows, k, labels); err != nil {
				return nil, err
			}
		}
		if opts.KeepPredictions {
			for i, s := range b.Samples {
				row := scores[i*k : (i+1)*k]
				pred := TopK(row, 1)[0]
				if flipLabels != nil {
					pred = flipLabels[i]
				}
				res.Predictions = append(res.Predictions, Prediction{SampleIdx: s.Index, ImgPath: s.Path, GTLabel: b.Labels[i],
					PredLabel: pred, PredScore: append([]float32(nil), row...), NumClasses: k})
			}
		}
		res.Samples += b.N
		if opts.Progress != nil {
			opts.Progress(res.Samples+len(loader.Skipped()), time.Since(start), res.DataTime)
		}
	}
	res.Time = time.Since(start)
	res.Batches = loader.NumBatches()
	res.Skipped = loader.Skipped()
	if labeled {
		res.Metrics = acc.Results()
	}
	return res, nil
}

// chunkedScores runs Scores on slices of at most chunk images of b.
func chunkedScores(m Classifier, b *imagenet.Batch, tta bool, chunk int) ([]float32, []int, error) {
	if b.N <= chunk {
		return scores(m, b, tta)
	}
	per := 3 * b.H * b.W
	var all []float32
	var flip []int
	for lo := 0; lo < b.N; lo += chunk {
		hi := min(lo+chunk, b.N)
		sub := &imagenet.Batch{Data: b.Data[lo*per : hi*per], N: hi - lo, H: b.H, W: b.W}
		s, f, err := scores(m, sub, tta)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, s...)
		flip = append(flip, f...)
	}
	return all, flip, nil
}

// Classifier is what Run evaluates: a model.Predictor (packed weights) or
// a *model.ImageClassifier.
type Classifier interface {
	Forward(x *model.Tensor) (*model.Tensor, error)
	NumClasses() int
}

// Scores runs the model on a batch and returns its softmax scores
// [N·classes]; with tta, the mean of the flipped and the original view.
func Scores(m Classifier, b *imagenet.Batch, tta bool) ([]float32, error) {
	s, _, err := scores(m, b, tta)
	return s, err
}

// scores is Scores that also returns, with tta, the best class of the
// flipped view per image. mmpretrain's AverageClsScoreTTA builds the merged
// sample with data_samples[0].new() (a copy of the flipped view's sample,
// pred_label included) and then sets only pred_score, so the pred_label
// that --out dumps with --tta is the flipped view's; the metrics use
// pred_score.
func scores(m Classifier, b *imagenet.Batch, tta bool) ([]float32, []int, error) {
	x := &model.Tensor{Shape: []int{b.N, 3, b.H, b.W}, Data: b.Data}
	logits, err := m.Forward(x)
	if err != nil {
		return nil, nil, err
	}
	orig := model.Softmax(logits)
	if !tta {
		return orig.Data, nil, nil
	}
	// Flipping the normalized tensor equals normalizing the flipped uint8
	// crop: the normalization is per pixel.
	flipped := make([]float32, len(b.Data))
	for r := 0; r < b.N*3*b.H; r++ {
		src, dst := b.Data[r*b.W:(r+1)*b.W], flipped[r*b.W:(r+1)*b.W]
		for i, v := range src {
			dst[b.W-1-i] = v
		}
	}
	fl, err := m.Forward(&model.Tensor{Shape: x.Shape, Data: flipped})
	if err != nil {
		return nil, nil, err
	}
	fs := model.Softmax(fl)
	k := len(fs.Data) / max(1, b.N)
	labels := make([]int, b.N)
	for i := range labels {
		labels[i] = TopK(fs.Data[i*k:(i+1)*k], 1)[0]
	}
	// sum(view scores) / 2 in float32, flipped view first: (0 + f) + o.
	for i := range fs.Data {
		fs.Data[i] = (fs.Data[i] + orig.Data[i]) / 2
	}
	return fs.Data, labels, nil
}
