package imagenet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mobileone-go/mobileone/internal/race"
)

// refWeights computes one output sample's taps straight from the formula
// in spec §3.1 (Pillow's precompute_coeffs), in float64, written
// independently of newAxisPlan: triangle of half-width filterscale around
// center = (o+0.5)*in/out, window [int(center-support+0.5), int(center+support+0.5)),
// normalized to sum 1.
func refWeights(in, out, o int) (xmin int, w []float64) {
	scale := float64(in) / float64(out)
	fs := math.Max(scale, 1)
	center := (float64(o) + 0.5) * scale
	xmin = max(0, int(center-fs+0.5))
	xmax := min(in, int(center+fs+0.5))
	sum := 0.0
	for x := xmin; x < xmax; x++ {
		t := math.Abs((float64(x) - center + 0.5) / fs)
		v := math.Max(0, 1-t)
		w = append(w, v)
		sum += v
	}
	for i := range w {
		w[i] /= sum
	}
	return xmin, w
}

// refResize is a float64 separable resize with the reference weights and
// no intermediate rounding.
func refResize(src *Image, dw, dh int) []float64 {
	sw, sh := src.Width, src.Height
	tmp := make([]float64, 3*dw*sh)
	for y := 0; y < sh; y++ {
		for o := 0; o < dw; o++ {
			xmin, w := refWeights(sw, dw, o)
			for c := 0; c < 3; c++ {
				s := 0.0
				for i, k := range w {
					s += k * float64(src.Pix[3*(y*sw+xmin+i)+c])
				}
				tmp[3*(y*dw+o)+c] = s
			}
		}
	}
	out := make([]float64, 3*dw*dh)
	for o := 0; o < dh; o++ {
		ymin, w := refWeights(sh, dh, o)
		for i := 0; i < 3*dw; i++ {
			s := 0.0
			for j, k := range w {
				s += k * tmp[(ymin+j)*3*dw+i]
			}
			out[o*3*dw+i] = s
		}
	}
	return out
}

func randomImage(rng *rand.Rand, w, h int) *Image {
	m := NewImage(w, h)
	for i := range m.Pix {
		m.Pix[i] = byte(rng.IntN(256))
	}
	return m
}

// TestResizerCoefficients: every fixed-point weight is the reference
// weight times 2^22, rounded (±1 for float64 evaluation-order noise), and
// the windows agree exactly.
func TestResizerCoefficients(t *testing.T) {
	for _, c := range [][2]int{{640, 383}, {451, 384}, {300, 256}, {28, 256}, {1, 7}, {7, 1}, {256, 224}, {3, 2}, {1000, 3}} {
		in, out := c[0], c[1]
		p := newAxisPlan(Bilinear, in, out)
		for o := 0; o < out; o++ {
			xmin, w := refWeights(in, out, o)
			if p.bounds[2*o] != xmin || p.bounds[2*o+1] != len(w) {
				t.Fatalf("%d→%d output %d: window (%d, %d), want (%d, %d)", in, out, o, p.bounds[2*o], p.bounds[2*o+1], xmin, len(w))
			}
			for i, v := range w {
				want := math.Round(v * (1 << precisionBits))
				if got := float64(p.kk[o*p.ksize+i]); math.Abs(got-want) > 1 {
					t.Fatalf("%d→%d output %d tap %d: weight %v, want %v", in, out, o, i, got, want)
				}
			}
		}
	}
}

// TestResizerVsFloatReference: the fixed-point resize with its uint8
// intermediate stays within 1 level of the exact float64 resize
// (0.5 from each rounding, weights summing to 1), on random images, for
// downscaling, upscaling, one-axis and degenerate sizes.
func TestResizerVsFloatReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: reproducible
	sizes := [][4]int{                 // sw, sh, dw, dh
		{64, 48, 37, 29}, {48, 64, 29, 37}, {50, 40, 50, 17}, {50, 40, 13, 40},
		{17, 13, 64, 50}, {1, 1, 5, 3}, {5, 3, 1, 1}, {100, 3, 7, 9}, {31, 31, 31, 31},
		{9, 8, 8, 9}, {200, 150, 67, 50},
	}
	for _, s := range sizes {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			src := randomImage(rng, s[0], s[1])
			orig := src.Clone()
			dst := NewImage(s[2], s[3])
			NewResizer(s[2], s[3], s[0], s[1]).Resize(dst, src)
			if string(orig.Pix) != string(src.Pix) {
				t.Fatal("Resize modified its source")
			}
			want := refResize(src, s[2], s[3])
			for i, v := range want {
				if d := math.Abs(float64(dst.Pix[i]) - v); d > 1 {
					t.Fatalf("byte %d: got %d, float reference %.3f", i, dst.Pix[i], v)
				}
			}
		})
	}
}

// TestResizerSkipsPasses: Pillow skips a pass whose size does not change,
// so resizing only the width equals a horizontal pass on every row with no
// vertical rounding, and same-size is a copy.
func TestResizerSkipsPasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := randomImage(rng, 40, 30)
	same := NewImage(40, 30)
	NewResizer(40, 30, 40, 30).Resize(same, src)
	if string(same.Pix) != string(src.Pix) {
		t.Fatal("same-size resize is not a copy")
	}
	// Width only, then height only, equals the two-pass resize: the
	// two-pass resize also rounds to uint8 between its passes.
	both := NewImage(23, 17)
	NewResizer(23, 17, 40, 30).Resize(both, src)
	mid := NewImage(23, 30)
	NewResizer(23, 30, 40, 30).Resize(mid, src)
	two := NewImage(23, 17)
	NewResizer(23, 17, 23, 30).Resize(two, mid)
	diffPixels(t, "horizontal-then-vertical", two, both)
}

// TestResizerConcurrent: one plan shared by goroutines gives the same bytes.
func TestResizerConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := randomImage(rng, 120, 90)
	r := NewResizer(50, 41, 120, 90)
	want := NewImage(50, 41)
	r.Resize(want, src)
	done := make(chan *Image)
	for i := 0; i < 4; i++ {
		go func() {
			d := NewImage(50, 41)
			for j := 0; j < 20; j++ {
				r.Resize(d, src)
			}
			done <- d
		}()
	}
	for i := 0; i < 4; i++ {
		diffPixels(t, "concurrent", <-done, want)
	}
}

// TestResizerAllocations: a warmed-up plan resizes without allocating (the
// scratch row buffer is pooled).
func TestResizerAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	src := randomImage(rng, 341, 256)
	dst := NewImage(224, 224)
	r := NewResizer(224, 224, 341, 256)
	r.Resize(dst, src)
	if n := testing.AllocsPerRun(10, func() { r.Resize(dst, src) }); n > 0 {
		t.Errorf("Resize allocates %v times per call, want 0", n)
	}
}

func TestNormalizerChannelOrder(t *testing.T) {
	img := &Image{Width: 2, Height: 1, Pix: []byte{10, 20, 30, 40, 50, 60}} // BGR
	n := Normalizer{Mean: [3]float32{1, 2, 3}, Std: [3]float32{2, 4, 8}, ToRGB: true}
	got := make([]float32, 6)
	n.ToCHW(got, img)
	want := []float32{(30 - 1) / 2.0, (60 - 1) / 2.0, (20 - 2) / 4.0, (50 - 2) / 4.0, (10 - 3) / 8.0, (40 - 3) / 8.0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ToRGB: got %v, want %v", got, want)
		}
	}
	n.ToRGB = false
	n.ToCHW(got, img)
	want = []float32{(10 - 1) / 2.0, (40 - 1) / 2.0, (20 - 2) / 4.0, (50 - 2) / 4.0, (30 - 3) / 8.0, (60 - 3) / 8.0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("BGR: got %v, want %v", got, want)
		}
	}
}
