package imagenet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
)

// LoaderOptions tune a Loader. The zero value is valid.
type LoaderOptions struct {
	// Seed and Epoch seed each sample's own RNG together with the sample's
	// dataset index (SampleRNG), so random transforms do not depend on
	// worker scheduling or on the order the indices visit samples.
	Seed  uint64
	Epoch int
	// InFlight is the number of batches being prepared or waiting to be
	// taken (memory bound). Default: 2.
	InFlight int
	// DropLast drops a final partial batch (PyTorch drop_last).
	DropLast bool
	// SkipInvalid skips samples that fail to load or preprocess instead of
	// failing; they are listed in Batch.Skipped and Loader.Skipped.
	SkipInvalid bool
	// Decode reads one file; default the pipeline's DecodeFile (which
	// skips the parts of a JPEG its test pipeline does not read).
	Decode func(path string) (*Image, error)
}

// SampleRNG returns the RNG the Loader gives sample index (its position in
// the dataset) in epoch under seed.
func SampleRNG(seed uint64, epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(epoch)<<32^uint64(uint32(index))))
}

// Batch is a collated batch: Data is float32 [N, 3, H, W] after the
// Normalizer. Labels[i] is -1 for unlabeled samples.
type Batch struct {
	Data    []float32
	N, H, W int
	Labels  []int
	Samples []Sample
	Meta    []Meta        // per sample, as Samples
	Skipped []SampleError // samples of this batch left out (SkipInvalid)
	// Warnings are the decoder's warnings (Image.Warnings) about samples
	// of this batch that decoded from damaged files.
	Warnings []SampleError
}

// SampleError is a per-sample failure; its message names the file.
type SampleError struct {
	Sample Sample
	Err    error
}

func (e *SampleError) Error() string {
	msg := e.Err.Error()
	if strings.Contains(msg, e.Sample.Path) { // DecodeFile names the file already
		return fmt.Sprintf("sample %d: %s", e.Sample.Index, msg)
	}
	return fmt.Sprintf("sample %d (%s): %s", e.Sample.Index, e.Sample.Path, msg)
}

func (e *SampleError) Unwrap() error { return e.Err }

// Loader streams preprocessed batches. Worker goroutines decode and
// preprocess samples in parallel; batches come out in the order of the
// indices given to NewLoader, whatever the number of workers. At most
// InFlight batches exist at a time. Next is not safe for concurrent use.
type Loader struct {
	ds        *Dataset
	indices   []int
	pipe      *Pipeline
	norm      Normalizer
	batchSize int
	opts      LoaderOptions

	cancel  context.CancelFunc
	pending chan *pendingBatch // in batch order, consumed by Next
	slots   chan struct{}      // InFlight tokens
	err     error              // sticky error
	wg      sync.WaitGroup

	mu       sync.Mutex
	skipped  []SampleError
	warnings []SampleError

	// tensors holds per-sample outputs that collate has copied, for the
	// workers to fill again: a bounded free list rather than a sync.Pool,
	// which the garbage collector empties (every new 600 KB tensor was then
	// faulted in page by page again).
	tensors chan []float32
	// spare is a batch tensor handed back by Recycle for collate to fill
	// again (a batch of 256 is 154 MB: a new one per batch was cleared
	// and faulted in page by page, on Next's caller's time).
	spare chan []float32
}

type pendingBatch struct {
	samples   []Sample
	results   []sampleResult
	remaining atomic.Int32
	done      chan struct{}
}

type sampleResult struct {
	data     []float32 // the preprocessed sample, from the tensors list
	h, w     int
	err      error
	warnings []string
	meta     Meta
}

type job struct {
	b    *pendingBatch
	slot int
}

// NewLoader starts loading batches of ds in the order of indices (nil:
// dataset order) with the given number of worker goroutines (at least 1).
// Call Close when done early; reading to io.EOF also releases everything.
func NewLoader(ds *Dataset, indices []int, pipe *Pipeline, norm Normalizer, batchSize, workers int, opts LoaderOptions) *Loader {
	if indices == nil {
		indices = make([]int, len(ds.Samples))
		for i := range indices {
			indices[i] = i
		}
	}
	if opts.InFlight <= 0 {
		opts.InFlight = 2
	}
	if opts.Decode == nil {
		opts.Decode = pipe.DecodeFile
	}
	workers = max(workers, 1)
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loader{
		ds: ds, indices: indices, pipe: pipe, norm: norm, batchSize: batchSize, opts: opts,
		cancel:  cancel,
		pending: make(chan *pendingBatch, opts.InFlight),
		slots:   make(chan struct{}, opts.InFlight),
		spare:   make(chan []float32, 1),
		tensors: make(chan []float32, min(max(batchSize, 0)*(opts.InFlight+1), 1<<12)),
	}
	if batchSize <= 0 {
		l.err = fmt.Errorf("imagenet: batch size %d", batchSize)
		close(l.pending)
		return l
	}
	for _, i := range indices {
		if i < 0 || i >= len(ds.Samples) {
			l.err = fmt.Errorf("imagenet: sample index %d out of range [0, %d)", i, len(ds.Samples))
			close(l.pending)
			return l
		}
	}
	jobs := make(chan job, workers)
	l.wg.Add(workers + 1)
	go l.dispatch(ctx, jobs)
	for w := 0; w < workers; w++ {
		go l.work(ctx, jobs)
	}
	return l
}

// NumBatches is the number of batches the loader delivers at most.
func (l *Loader) NumBatches() int {
	if l.batchSize <= 0 {
		return 0
	}
	if l.opts.DropLast {
		return len(l.indices) / l.batchSize
	}
	return (len(l.indices) + l.batchSize - 1) / l.batchSize
}

func (l *Loader) dispatch(ctx context.Context, jobs chan<- job) {
	defer l.wg.Done()
	defer close(jobs)
	defer close(l.pending)
	for b := 0; b < l.NumBatches(); b++ {
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		lo, hi := b*l.batchSize, min((b+1)*l.batchSize, len(l.indices))
		pb := &pendingBatch{done: make(chan struct{}), results: make([]sampleResult, hi-lo)}
		for _, i := range l.indices[lo:hi] {
			pb.samples = append(pb.samples, l.ds.Samples[i])
		}
		pb.remaining.Store(int32(hi - lo))
		l.pending <- pb // capacity InFlight: never blocks while we hold a slot
		for s := range pb.samples {
			select {
			case jobs <- job{pb, s}:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (l *Loader) work(ctx context.Context, jobs <-chan job) {
	defer l.wg.Done()
	w := l.newWorker()
	for j := range jobs {
		if ctx.Err() != nil {
			return
		}
		s := j.b.samples[j.slot]
		j.b.results[j.slot] = w.load(s)
		if j.b.remaining.Add(-1) == 0 {
			close(j.b.done)
		}
	}
}

// worker is one worker goroutine's reusable state: the sample RNG (reseeded
// per sample, the stream of SampleRNG) and the buffer of the pipeline's
// fused ResizeEdge+CenterCrop output, so that the steady state of the test
// pipeline allocates nothing beyond what the decoder allocates.
type worker struct {
	l   *Loader
	pcg *rand.PCG
	rng *rand.Rand
	buf Image
}

func (l *Loader) newWorker() *worker {
	pcg := rand.NewPCG(0, 0)
	return &worker{l: l, pcg: pcg, rng: rand.New(pcg)}
}

// sampleRNG reseeds the worker's RNG to SampleRNG(Seed, Epoch, index)'s
// state and returns it.
func (w *worker) sampleRNG(index int) *rand.Rand {
	w.pcg.Seed(w.l.opts.Seed, uint64(w.l.opts.Epoch)<<32^uint64(uint32(index)))
	return w.rng
}

// load decodes, transforms and normalizes one sample, turning panics from
// decoders or transforms into errors.
func (w *worker) load(s Sample) (r sampleResult) {
	defer func() {
		if p := recover(); p != nil {
			r = sampleResult{err: fmt.Errorf("panic: %v", p)}
		}
	}()
	l := w.l
	img, err := l.opts.Decode(s.Path)
	if err != nil {
		return sampleResult{err: err}
	}
	warnings := img.Warnings
	var meta Meta
	img, err = l.pipe.apply(img, w.sampleRNG(s.Index), &w.buf, &meta)
	if err != nil {
		return sampleResult{err: err}
	}
	n := 3 * img.Width * img.Height
	var t []float32
	select {
	case t = <-l.tensors:
	default:
	}
	if cap(t) < n {
		t = make([]float32, n)
	}
	t = t[:n]
	l.norm.ToCHW(t, img)
	return sampleResult{data: t, h: img.Height, w: img.Width, warnings: warnings, meta: meta}
}

// Next returns the next batch, io.EOF after the last one, or the first
// sample error (unless SkipInvalid). Errors are sticky. If ctx is
// cancelled, Next closes the loader and returns ctx.Err().
func (l *Loader) Next(ctx context.Context) (*Batch, error) {
	for {
		if l.err != nil {
			return nil, l.err
		}
		var pb *pendingBatch
		var ok bool
		select {
		case pb, ok = <-l.pending:
		case <-ctx.Done():
			l.fail(ctx.Err())
			return nil, l.err
		}
		if !ok {
			l.fail(io.EOF)
			return nil, io.EOF
		}
		select {
		case <-pb.done:
		case <-ctx.Done():
			l.fail(ctx.Err())
			return nil, l.err
		}
		<-l.slots
		b, err := l.collate(pb)
		if err != nil {
			l.fail(err)
			return nil, err
		}
		if b.N > 0 {
			return b, nil
		}
		// every sample of this batch was skipped: go on to the next one
	}
}

func (l *Loader) collate(pb *pendingBatch) (*Batch, error) {
	b := &Batch{}
	for i, r := range pb.results {
		s := pb.samples[i]
		if len(r.warnings) > 0 {
			b.Warnings = append(b.Warnings, SampleError{Sample: s, Err: errors.New(strings.Join(r.warnings, "; "))})
		}
		if r.err != nil {
			se := SampleError{Sample: s, Err: r.err}
			if !l.opts.SkipInvalid {
				return nil, &se
			}
			b.Skipped = append(b.Skipped, se)
			continue
		}
		if b.N == 0 {
			b.H, b.W = r.h, r.w
			b.Data = l.batchTensor(len(pb.results) * len(r.data))
		} else if r.h != b.H || r.w != b.W {
			return nil, &SampleError{Sample: s, Err: fmt.Errorf("preprocessed size %dx%d differs from the batch's %dx%d (add a crop or resize to the pipeline)", r.w, r.h, b.W, b.H)}
		}
		b.Data = append(b.Data, r.data...)
		select {
		case l.tensors <- r.data:
		default:
		}
		pb.results[i].data = nil
		b.Labels = append(b.Labels, s.Label)
		b.Samples = append(b.Samples, s)
		b.Meta = append(b.Meta, r.meta)
		b.N++
	}
	if len(b.Skipped) > 0 || len(b.Warnings) > 0 {
		l.mu.Lock()
		l.skipped = append(l.skipped, b.Skipped...)
		l.warnings = append(l.warnings, b.Warnings...)
		l.mu.Unlock()
	}
	return b, nil
}

// batchTensor returns an empty tensor with room for n values: the one
// Recycle handed back if it is large enough, else a new one.
func (l *Loader) batchTensor(n int) []float32 {
	select {
	case t := <-l.spare:
		if cap(t) >= n {
			return t[:0]
		}
	default:
	}
	return make([]float32, 0, n)
}

// Recycle hands b's tensor (Data) back to the loader, which fills it again
// for a later batch; b.Data is nil afterwards. Call it once nothing reads
// the tensor any more (not while a training step may still need its
// input); batches not recycled are simply left to the garbage collector.
func (l *Loader) Recycle(b *Batch) {
	if b == nil || b.Data == nil {
		return
	}
	select {
	case l.spare <- b.Data:
	default:
	}
	b.Data = nil
}

func (l *Loader) fail(err error) {
	if l.err == nil {
		l.err = err
	}
	l.shutdown()
}

func (l *Loader) shutdown() {
	l.cancel() // the dispatcher and workers watch the context
	// Drain batches nobody will take, so the dispatcher never blocks.
	go func() {
		for range l.pending {
		}
	}()
}

// Close stops the workers and waits for them. Next then returns an error.
// After Next was interrupted by its context (Ctrl-C), Close does not wait:
// a worker may be blocked in a read that never returns (a FIFO, a hung
// network file system), and it stops by itself when the read returns.
func (l *Loader) Close() error {
	interrupted := errors.Is(l.err, context.Canceled) || errors.Is(l.err, context.DeadlineExceeded)
	if l.err == nil {
		l.err = errors.New("imagenet: loader closed")
	}
	l.shutdown()
	if !interrupted {
		l.wg.Wait()
	}
	return nil
}

// Warnings lists every decoder warning so far (Batch.Warnings).
func (l *Loader) Warnings() []SampleError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]SampleError(nil), l.warnings...)
}

// Skipped lists every sample skipped so far (SkipInvalid).
func (l *Loader) Skipped() []SampleError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]SampleError(nil), l.skipped...)
}
