// Package bufpool recycles large scratch slices (decoded pixels, tensors,
// im2col columns, sample planes) by capacity, so that steady-state calls do
// not allocate, clear and fault in fresh memory each time. A sync.Pool is
// underneath, so idle buffers are released at garbage collections: the
// scratch of calls that come and go. A fixed set of buffers that cycles
// for as long as its owner runs (the imagenet Loader's sample and batch
// tensors) is a bounded channel of its owner's instead.
package bufpool

import "sync"

// Pool holds slices of T; the zero value is ready to use.
type Pool[T any] struct{ p sync.Pool }

// Get returns a slice of length n: a recycled one when its capacity
// suffices (its values are then whatever it held last: the caller
// overwrites them), else new zeroed memory. Hand the pointer back with
// Put; passing it around as a pointer keeps Get and Put free of
// allocations.
func (p *Pool[T]) Get(n int) *[]T {
	if b, ok := p.p.Get().(*[]T); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]T, n)
	return &b
}

// Put hands b back for a later Get; nothing may use *b afterwards.
func (p *Pool[T]) Put(b *[]T) {
	if b != nil && cap(*b) > 0 {
		p.p.Put(b)
	}
}
