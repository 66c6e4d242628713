// Package evaluate is the evaluation of the project: mmpretrain's
// classification metrics (Accuracy, SingleLabelMetric, ConfusionMatrix)
// built from a config's val_evaluator / test_evaluator, the one top-k, and
// the one loop that runs a model over a data loader (Run). It serves
// `mobileone test`, the validation of `train` and the offline tools
// (eval-metric, confusion-matrix).
package evaluate

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// Prediction is one sample's result, the fields of mmpretrain's
// DataSample that tools/test.py --out dumps (see WriteResults).
type Prediction struct {
	SampleIdx int    `json:"sample_idx"`
	ImgPath   string `json:"img_path"`
	// GTLabel is -1 when the sample has no ground truth.
	GTLabel   int       `json:"gt_label"`
	PredLabel int       `json:"pred_label"`
	PredScore []float32 `json:"pred_score"` // nil in results that hold labels only
	// NumClasses is the score count (DataSample's num_classes metainfo).
	NumClasses int `json:"num_classes"`
	// Meta is the pipeline's metainfo (ori_shape, img_shape,
	// scale_factor); zero when unknown.
	Meta imagenet.Meta `json:"-"`
}

// Options tune Run.
type Options struct {
	// TTA averages the softmax scores of the horizontally flipped and the
	// original view, flipped first (mmpretrain's AverageClsScoreTTA with
	// --tta).
	TTA bool
	// KeepPredictions collects a Prediction per sample.
	KeepPredictions bool
	// Evaluator computes the metrics (required; see FromConfig). Run
	// resets it first.
	Evaluator *Evaluator
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
	// Metrics are the evaluator's, in its order; nil when the dataset
	// has no labels.
	Metrics     []Metric
	Predictions []Prediction
	Samples     int // samples evaluated
	Batches     int // batches of the loader, including wholly skipped ones
	Skipped     []imagenet.SampleError
	Time        time.Duration // wall time
	DataTime    time.Duration // time spent waiting for batches
}

// Run evaluates m (eval mode) on every batch of loader, feeds the softmax
// scores of the labelled samples to opts.Evaluator and computes its
// metrics: mmengine's ValLoop / TestLoop. A dataset without labels (label
// -1, e.g. ImageNet split "test") gives no metrics, as they need ground
// truth.
func Run(ctx context.Context, m Classifier, loader *imagenet.Loader, opts Options) (*Result, error) {
	if opts.Evaluator == nil {
		return nil, errors.New("evaluate: Run without an Evaluator")
	}
	chunk := opts.Chunk
	if chunk <= 0 {
		chunk = 32
	}
	ev := opts.Evaluator
	ev.Reset()
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
		loader.Recycle(b)
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
			if err := ev.Process(rows, k, labels); err != nil {
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
				p := Prediction{SampleIdx: s.Index, ImgPath: s.Path, GTLabel: b.Labels[i],
					PredLabel: pred, PredScore: append([]float32(nil), row...), NumClasses: k}
				if i < len(b.Meta) {
					p.Meta = b.Meta[i]
				}
				res.Predictions = append(res.Predictions, p)
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
		var err error
		if res.Metrics, err = ev.Compute(); err != nil {
			return nil, err
		}
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
