package predict

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// StreamOptions configure Stream.
type StreamOptions struct {
	TopK, BatchSize, Workers int
	// Decode reads one image (Reader's function); nil: imagenet.DecodeFile.
	Decode func(path string) (*imagenet.Image, error)
	// SkipInvalid reports a failed image to OnFailure and goes on;
	// otherwise the first failure ends Stream with its error.
	SkipInvalid bool
	// OnResult receives each result, in input order, as soon as it is
	// ready; an error stops the stream.
	OnResult func(src Source, r Result) error
	// OnFailure receives each image that failed (SkipInvalid).
	OnFailure func(src Source, err error)
	// OnWarning receives the decoder's warnings about damaged files that
	// still decoded (libjpeg's "Premature end of JPEG file").
	OnWarning func(src Source, msg string)
	// Progress, when set, is called after each batch with the images done.
	Progress func(done int, elapsed, dataTime time.Duration)
}

// Stream classifies sources with the imagenet.Loader that test uses
// (worker goroutines decode and preprocess while the model runs; at most a
// few batches exist at a time, so memory does not grow with the number of
// images) and hands over each result in input order as it is ready. It
// returns the number of images that failed.
func Stream(ctx context.Context, m *model.Predictor, pipe *imagenet.Pipeline, norm imagenet.Normalizer, classes []string, sources []Source, o StreamOptions) (failed int, err error) {
	ds := &imagenet.Dataset{Samples: make([]imagenet.Sample, len(sources))}
	for i, s := range sources {
		ds.Samples[i] = imagenet.Sample{Path: s.Path, Label: -1, Index: i}
	}
	loader := imagenet.NewLoader(ds, nil, pipe, norm, max(o.BatchSize, 1), o.Workers, imagenet.LoaderOptions{SkipInvalid: true, Decode: o.Decode})
	defer loader.Close()
	start := time.Now()
	var dataTime time.Duration
	done, seen := 0, 0
	for {
		t0 := time.Now()
		b, err := loader.Next(ctx)
		dataTime += time.Since(t0)
		if err != nil && err != io.EOF {
			return failed, err
		}
		if b == nil {
			b = &imagenet.Batch{}
		}
		// The loader passes over batches in which every image failed:
		// its running list has them, with this batch's failures.
		all := loader.Skipped()
		skipped := all[seen:]
		seen = len(all)
		if o.OnWarning != nil {
			for _, w := range b.Warnings {
				o.OnWarning(sources[w.Sample.Index], w.Err.Error())
			}
		}
		var scores *model.Tensor
		if b.N > 0 {
			logits, err := m.Forward(&model.Tensor{Shape: []int{b.N, 3, b.H, b.W}, Data: b.Data})
			if err != nil {
				return failed, err
			}
			scores = model.Softmax(logits)
			loader.Recycle(b)
		}
		// The batch's results and failures, merged back into input order.
		i, j := 0, 0
		for i < b.N || j < len(skipped) {
			if j < len(skipped) && (i == b.N || skipped[j].Sample.Index < b.Samples[i].Index) {
				se := skipped[j]
				j++
				failed++
				src := sources[se.Sample.Index]
				if !o.SkipInvalid {
					return failed, NamedError(src.Path, se.Err)
				}
				if o.OnFailure != nil {
					o.OnFailure(src, NamedError(src.Path, se.Err))
				}
				continue
			}
			k := scores.Shape[1]
			src := sources[b.Samples[i].Index]
			r := Rank(src.Path, scores.Data[i*k:(i+1)*k:(i+1)*k], classes, o.TopK)
			i++
			if o.OnResult != nil {
				if err := o.OnResult(src, r); err != nil {
					return failed, err
				}
			}
		}
		done += b.N + len(skipped)
		if o.Progress != nil {
			o.Progress(done, time.Since(start), dataTime)
		}
		if err == io.EOF {
			return failed, nil
		}
	}
}

// NamedError returns err as a message that names the image: decoder
// errors do already, others get the path in front.
func NamedError(path string, err error) error {
	if strings.Contains(err.Error(), path) {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}
