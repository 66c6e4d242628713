//go:build linux

package imagenet

import (
	"image"
	"math/rand/v2"
	"syscall"
	"testing"
)

// pageEndBytes returns n bytes that end where an inaccessible page
// begins, so that reading past them faults.
func pageEndBytes(t *testing.T, n int) []byte {
	page := syscall.Getpagesize()
	size := (n+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	return mem[size-page-n : size-page : size-page]
}

// TestResizeAVX2ReadsInside: the AVX2 passes read nothing past their
// input (which here ends at an inaccessible page, so an over-read crashes
// the test), for every kernel, with plans reaching the row's end.
func TestResizeAVX2ReadsInside(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(35, 36))
	for taps := 1; taps <= 17; taps++ {
		for n := 1; n <= 40; n++ {
			in := taps + n/2
			const rows = 2
			src := pageEndBytes(t, 3*in*rows)
			copy(src, randomRows(rng, len(src)))
			r := &Resizer{sw: in, win: image.Rect(0, 0, n, rows), needH: true}
			if taps > 1 {
				r.h = randomHPlan(rng, taps, n, in, weightKinds[0].draw)
				r.h.off[n-1] = 3 * (in - taps)
				r.h.wide = newHWide(&r.h, 3*in)
				r.horizontal(make([]byte, 3*n*rows), src, 0, rows)
			}
			// The vertical pass over the last taps rows of a w-pixel-wide
			// image, as the vertical-only Resize runs it.
			w := 1 + rng.IntN(40)
			src = pageEndBytes(t, 3*w*taps)
			v := &Resizer{win: image.Rect(0, 0, w, 1), needV: true}
			v.v = axisPlan{ksize: taps, bounds: []int{0, taps}, kk: make([]int32, taps)}
			v.vertical(make([]byte, 3*w), src, 3*w, 0, make([]int32, 3*w))
		}
	}
}
