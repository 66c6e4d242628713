package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobileone-go/mobileone/internal/bufpool"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines kernels use for one call (at least 1)
// and returns the previous value.
func SetThreads(n int) int {
	if n < 1 {
		n = 1
	}
	return int(threads.Swap(int32(n)))
}

// Threads returns the number of goroutines kernels use for one call.
func Threads() int { return int(threads.Load()) }

// parallelFor splits [0,n) into at most Threads() contiguous ranges of at
// least minChunk items and runs fn on each, the first on the calling
// goroutine. It returns when all are done.
func parallelFor(n, minChunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if minChunk < 1 {
		minChunk = 1
	}
	parts := Threads()
	if maxParts := n / minChunk; parts > maxParts {
		parts = maxParts
	}
	if parts <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		lo, hi := p*n/parts, (p+1)*n/parts
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/parts)
	wg.Wait()
}

// parallelForLeaf is parallelFor on the package workers; fn must be a leaf
// (it must not split work again).
func parallelForLeaf(n, minChunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	parts := min(Threads(), n/max(1, minChunk))
	if parts <= 1 {
		fn(0, n)
		return
	}
	runParallel(&funcTask{n: n, parts: parts, fn: fn}, parts)
}

// buffers recycles scratch slices (im2col columns, partial gradients) so
// that steady-state calls do not allocate.
var buffers bufpool.Pool[float32]

// parallelTask is a unit of work split into parts run by runParallel.
type parallelTask interface{ runPart(part int) }

type workItem struct {
	t       parallelTask
	part    int
	pending *atomic.Int32 // parts not yet done; the caller polls it
}

// A few long-lived workers take the parts of runParallel, so that splitting
// a kernel starts no goroutine and allocates nothing. Work sent to them is
// always a leaf (it never calls runParallel again), so they cannot deadlock.
//
// A worker that finished a part spins for a while (spinFor) before it
// blocks: a training step calls thousands of small kernels back to back,
// and waking a parked goroutine costs more than many of them take. The
// spin outlasts the serial stretches of an inference pass (kernels too
// small to split, 20-150 us), so the next split kernel finds its worker
// awake.
// A caller hands a part to a spinning worker through its slot; a sleeping
// one gets it through its mailbox.
type spinWorker struct {
	spinning atomic.Bool
	slot     atomic.Pointer[workItem]
	mail     chan *workItem
}

var (
	workersMu sync.Mutex
	workers   []*spinWorker
	joinPool  = sync.Pool{New: func() any { return new(atomic.Int32) }}
	itemPool  = sync.Pool{New: func() any { return new(workItem) }}
	nextWork  atomic.Uint32
)

// spinFor is how long an idle worker keeps polling before it parks. It
// yields (Gosched) as it polls, so other goroutines (image decoding) still
// get the processor. At 100 us, the s0 batch-1 stage-1 pointwise convs
// (2 threads) took 0.196 ms each instead of 0.100 ms: the worker had
// parked during the serial depthwise conv before them.
const spinFor = 1 * time.Millisecond

func (w *spinWorker) run(it *workItem) {
	it.t.runPart(it.part)
	pending := it.pending
	*it = workItem{}
	itemPool.Put(it)
	if pending != nil {
		pending.Add(-1)
	}
}

func (w *spinWorker) loop() {
	for {
		w.spinning.Store(true)
		start := time.Now()
		got := false
		for i := 0; ; i++ {
			if it := w.slot.Load(); it != nil {
				w.slot.Store(nil)
				w.run(it)
				got = true
				break
			}
			if !w.spinning.Load() {
				break // claimed: the slot is about to be filled
			}
			if i&255 == 255 {
				if time.Since(start) > spinFor {
					break
				}
				runtime.Gosched()
			}
		}
		if got {
			continue
		}
		if w.spinning.CompareAndSwap(true, false) {
			// nobody claimed this worker: park until mail arrives
			w.run(<-w.mail)
			continue
		}
		// a caller claimed the worker: wait for its part
		for {
			if it := w.slot.Load(); it != nil {
				w.slot.Store(nil)
				w.run(it)
				break
			}
			runtime.Gosched()
		}
	}
}

func (w *spinWorker) give(it *workItem) {
	if w.spinning.CompareAndSwap(true, false) {
		w.slot.Store(it)
		return
	}
	w.mail <- it
}

// runParallel runs t.runPart(0..parts-1), part 0 on the calling goroutine,
// and returns when all are done.
func runParallel(t parallelTask, parts int) {
	if parts <= 1 {
		t.runPart(0)
		return
	}
	ws := startWorkers(parts - 1)
	pending := joinPool.Get().(*atomic.Int32)
	pending.Store(int32(parts - 1))
	base := 0
	if len(ws) > parts-1 {
		base = int(nextWork.Add(1))
	}
	for p := 1; p < parts; p++ {
		it := itemPool.Get().(*workItem)
		*it = workItem{t: t, part: p, pending: pending}
		ws[(base+p-1)%len(ws)].give(it)
	}
	t.runPart(0)
	// Poll for the other parts instead of parking (a sync.WaitGroup
	// parks): they take about as long as this one, and a parked goroutine
	// takes tens of microseconds to wake on this VM, which kernels of
	// 20-150 us split in two cannot afford (s0 deploy batch 1, 2 threads,
	// 8 interleaved runs: median 4.86 ms parking, 4.09 ms polling).
	// Gosched lets a worker that shares this P run.
	for i := 0; pending.Load() != 0; i++ {
		if i&63 == 63 {
			runtime.Gosched()
		}
	}
	joinPool.Put(pending)
}

// startWorkers starts workers until there are at least n and returns
// them all.
func startWorkers(n int) []*spinWorker {
	workersMu.Lock()
	defer workersMu.Unlock()
	for len(workers) < n {
		w := &spinWorker{mail: make(chan *workItem, 64)}
		workers = append(workers, w)
		go w.loop()
	}
	return workers
}

// Wake rouses the workers that split kernels use, so that they poll for
// work again (for spinFor) instead of sleeping: for a caller about to
// switch from serial kernels to split ones. A parked worker takes ~135 µs
// to wake on this VM (its vCPU is halted), a split kernel's part far less.
func Wake() {
	if Threads() < 2 {
		return
	}
	for _, w := range startWorkers(Threads() - 1) {
		if w.spinning.Load() {
			continue
		}
		// never blocks: a busy worker with a full mailbox is awake
		it := itemPool.Get().(*workItem)
		*it = workItem{t: wakeTask{}}
		select {
		case w.mail <- it:
		default:
			itemPool.Put(it)
		}
	}
}

// wakeTask is the empty part Wake hands a sleeping worker.
type wakeTask struct{}

func (wakeTask) runPart(int) {}

// funcTask adapts a range function to runParallel.
type funcTask struct {
	n, parts int
	fn       func(lo, hi int)
}

func (f *funcTask) runPart(p int) { f.fn(p*f.n/f.parts, (p+1)*f.n/f.parts) }
