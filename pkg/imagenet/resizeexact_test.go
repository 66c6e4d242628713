package imagenet

import (
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

// randomResizeCases draws source and destination sizes: downscaling by up
// to ~8x, upscaling, one-axis changes, same size, 1-pixel edges.
func randomResizeCases(rng *rand.Rand, n int) [][4]int {
	var cs [][4]int
	for i := 0; i < n; i++ {
		sw, sh := 1+rng.IntN(120), 1+rng.IntN(120)
		pick := func(s int) int {
			switch rng.IntN(5) {
			case 0:
				return s // unchanged axis
			case 1:
				return 1 + rng.IntN(3*s) // up to 3x upscaling
			default:
				return max(1, s*(1+rng.IntN(8))/(1+rng.IntN(8)))
			}
		}
		cs = append(cs, [4]int{sw, sh, pick(sw), pick(sh)})
	}
	return cs
}

// TestResizerMatchesReference: the optimized Resizer (padded, unrolled
// passes) gives the bytes of the plain transcription of Pillow's loops, for
// every filter (negative lobes included) and many random sizes, and each
// window of a NewCropResizer equals the same crop of the full resize.
func TestResizerMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	n := 150
	if testing.Short() {
		n = 40
	}
	for _, f := range []*Filter{Bilinear, Bicubic, Lanczos, Box, Hamming} {
		for _, c := range randomResizeCases(rng, n) {
			sw, sh, dw, dh := c[0], c[1], c[2], c[3]
			name := fmt.Sprintf("%s %dx%d->%dx%d", f.Name, sw, sh, dw, dh)
			src := randomImage(rng, sw, sh)
			want := pillowResizeRef(f, src, dw, dh)
			got := NewImage(dw, dh)
			f.NewResizer(dw, dh, sw, sh).Resize(got, src)
			diffPixels(t, name, got, want)
			for k := 0; k < 3; k++ {
				x0, y0 := rng.IntN(dw), rng.IntN(dh)
				win := image.Rect(x0, y0, x0+1+rng.IntN(dw-x0), y0+1+rng.IntN(dh-y0))
				r := f.NewCropResizer(dw, dh, sw, sh, win)
				if w, h := r.OutputSize(); w != win.Dx() || h != win.Dy() {
					t.Fatalf("%s window %v: OutputSize %dx%d", name, win, w, h)
				}
				gotWin := NewImage(win.Dx(), win.Dy())
				r.Resize(gotWin, src)
				diffPixels(t, fmt.Sprintf("%s window %v", name, win), gotWin, want.Crop(win))
			}
			if t.Failed() {
				return
			}
		}
	}
}

// TestResizerImageNetShapes: the shapes of real ImageNet photos (and a
// large one with a long kernel) against the reference.
func TestResizerImageNetShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, c := range [][2]int{{500, 375}, {375, 500}, {500, 333}, {500, 334}, {640, 480}, {1600, 1200}, {256, 256}, {200, 150}} {
		src := randomImage(rng, c[0], c[1])
		w, h := ResizeEdgeSize(c[0], c[1], 256, "short")
		want := pillowResizeRef(Bilinear, src, w, h)
		got := ResizeImage(src, w, h)
		diffPixels(t, fmt.Sprint(c), got, want)
	}
}
