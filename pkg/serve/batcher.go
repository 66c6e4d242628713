package serve

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/mobileone-go/mobileone/pkg/predict"
)

// job is one preprocessed image waiting for its forward pass.
type job struct {
	ctx  context.Context // the request's: a job whose request is gone is dropped
	in   predict.Input
	done chan jobResult // buffered: the batcher never blocks on it
}

type jobResult struct {
	scores []float32
	err    error
}

// batcher runs the model on the images of concurrent requests together:
// it takes the first waiting image, then up to maxBatch-1 more that
// arrive within maxDelay, and classifies them in one forward pass. One
// batcher goroutine owns the model; requests decode and preprocess their
// images concurrently while it runs.
type batcher struct {
	model    predict.Classifier
	maxBatch int
	maxDelay time.Duration
	jobs     chan *job // never closed: requests may still submit while it stops
	metrics  *metrics
	quit     chan struct{}
	stopped  chan struct{}
}

func newBatcher(m predict.Classifier, maxBatch int, maxDelay time.Duration, queue int, mt *metrics) *batcher {
	b := &batcher{model: m, maxBatch: maxBatch, maxDelay: maxDelay, jobs: make(chan *job, queue), metrics: mt,
		quit: make(chan struct{}), stopped: make(chan struct{})}
	go b.run()
	return b
}

var errClosed = errors.New("the server is shutting down")

// submit queues in and waits for its scores, or for ctx to end.
func (b *batcher) submit(ctx context.Context, in predict.Input) ([]float32, error) {
	j := &job{ctx: ctx, in: in, done: make(chan jobResult, 1)}
	select {
	case b.jobs <- j:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-b.stopped:
		return nil, errClosed
	}
	b.metrics.addQueued(1)
	select {
	case r := <-j.done:
		return r.scores, r.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-b.stopped:
		select {
		case r := <-j.done:
			return r.scores, r.err
		default:
			return nil, errClosed
		}
	}
}

// close stops the batcher after classifying the images already queued.
func (b *batcher) close() {
	select {
	case <-b.quit:
	default:
		close(b.quit)
	}
	<-b.stopped
}

func (b *batcher) run() {
	defer close(b.stopped)
	for {
		select {
		case j := <-b.jobs:
			b.runBatch(j)
		case <-b.quit:
			for {
				select {
				case j := <-b.jobs:
					b.runBatch(j)
				default:
					return
				}
			}
		}
	}
}

func (b *batcher) runBatch(first *job) {
	batch := b.collect(first)
	b.metrics.addQueued(-int64(len(batch)))
	b.forward(batch)
}

// collect gathers up to maxBatch jobs: those already queued, and those
// arriving within maxDelay of the first.
func (b *batcher) collect(first *job) []*job {
	batch := []*job{first}
	var timeout <-chan time.Time
	if b.maxDelay > 0 {
		t := time.NewTimer(b.maxDelay)
		defer t.Stop()
		timeout = t.C
	}
	for len(batch) < b.maxBatch {
		select {
		case j := <-b.jobs:
			batch = append(batch, j)
			continue
		default:
		}
		if timeout == nil {
			return batch
		}
		select {
		case j := <-b.jobs:
			batch = append(batch, j)
		case <-timeout:
			return batch
		}
	}
	return batch
}

// forward classifies the batch's live jobs (images of one size share a
// forward pass) and answers every job.
func (b *batcher) forward(batch []*job) {
	live := batch[:0:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.in.Release()
			j.done <- jobResult{err: context.Cause(j.ctx)}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	sort.SliceStable(live, func(a, c int) bool {
		if live[a].in.H != live[c].in.H {
			return live[a].in.H < live[c].in.H
		}
		return live[a].in.W < live[c].in.W
	})
	inputs := make([]predict.Input, len(live))
	for i, j := range live {
		inputs[i] = j.in
	}
	scores, err := predict.Scores(b.model, inputs)
	for _, j := range live {
		j.in.Release() // Scores copied it into the batch
	}
	b.metrics.batchDone(len(live))
	for i, j := range live {
		if err != nil {
			j.done <- jobResult{err: err}
		} else {
			j.done <- jobResult{scores: scores[i]}
		}
	}
}
