package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
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

// buffers recycles scratch slices (im2col columns, partial gradients) so
// that steady-state calls do not allocate.
var buffers sync.Pool

func getBuf(n int) *[]float32 {
	if v := buffers.Get(); v != nil {
		b := v.(*[]float32)
		if cap(*b) >= n {
			*b = (*b)[:n]
			return b
		}
	}
	b := make([]float32, n)
	return &b
}

func putBuf(b *[]float32) { buffers.Put(b) }

// parallelTask is a unit of work split into parts run by runParallel.
type parallelTask interface{ runPart(part int) }

type workItem struct {
	t    parallelTask
	part int
	wg   *sync.WaitGroup
}

// A few long-lived workers take the parts of runParallel, so that splitting
// a kernel starts no goroutine and allocates nothing. Work sent to them is
// always a leaf (it never calls runParallel again), so they cannot deadlock.
var (
	workQueue   = make(chan workItem, 64)
	workersMu   sync.Mutex
	workerCount int
	wgPool      = sync.Pool{New: func() any { return new(sync.WaitGroup) }}
)

func worker() {
	for it := range workQueue {
		it.t.runPart(it.part)
		it.wg.Done()
	}
}

// runParallel runs t.runPart(0..parts-1), part 0 on the calling goroutine,
// and returns when all are done.
func runParallel(t parallelTask, parts int) {
	if parts <= 1 {
		t.runPart(0)
		return
	}
	workersMu.Lock()
	for workerCount < parts-1 {
		workerCount++
		go worker()
	}
	workersMu.Unlock()
	wg := wgPool.Get().(*sync.WaitGroup)
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		workQueue <- workItem{t: t, part: p, wg: wg}
	}
	t.runPart(0)
	wg.Wait()
	wgPool.Put(wg)
}
