package imagenet

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

func requireAVX2(t *testing.T) {
	t.Helper()
	if !useAVX2 {
		t.Skip("no AVX2 kernels here (purego build, non-amd64, or a CPU without AVX2)")
	}
}

// weightKinds draw a kernel of t fixed-point weights: Pillow-like
// normalized non-negative ones (whose sums fit a byte: the NC kernels),
// signed ones summing to one (bicubic/lanczos-like: clip8 clamps), and
// arbitrary int32 values (products and sums wrap around in the Go code;
// the kernels must wrap alike), and weights whose sum puts rows of ones
// next to a rounding step (half + Σk ≡ -1 or 0 mod 2²²: the result moves
// if any term or the rounding constant is off by one).
var weightKinds = []struct {
	name string
	draw func(rng *rand.Rand, k []int32)
}{
	{"normalized", func(rng *rand.Rand, k []int32) {
		rest := int32(1 << precisionBits)
		for j := range k {
			k[j] = rng.Int32N(rest + 1)
			if j == len(k)-1 {
				k[j] = rest
			}
			rest -= k[j]
		}
	}},
	{"signed", func(rng *rand.Rand, k []int32) {
		sum := int32(0)
		for j := range k {
			k[j] = rng.Int32N(3<<precisionBits) - 1<<precisionBits
			sum += k[j]
		}
		k[rng.IntN(len(k))] += 1<<precisionBits - sum
	}},
	{"extreme", func(rng *rand.Rand, k []int32) {
		edges := []int32{-1 << 31, 1<<31 - 1, 1 << precisionBits, -1 << precisionBits, 1<<(precisionBits+1) - 1, 0}
		for j := range k {
			if rng.IntN(2) == 0 {
				k[j] = edges[rng.IntN(len(edges))]
			} else {
				k[j] = int32(rng.Uint32())
			}
		}
	}},
	{"rounding", func(rng *rand.Rand, k []int32) {
		sum := int32(0)
		for j := range k {
			k[j] = rng.Int32N(1<<precisionBits) - 1<<(precisionBits-2)
			sum += k[j]
		}
		k[0] += rng.Int32N(255)<<precisionBits + 1<<(precisionBits-1) - rng.Int32N(2) - sum
	}},
}

// randomRows returns n random bytes, or (three cases in eight) bytes that
// are all 0 or all 255, where the sums reach their extremes, or all 1,
// where they are the sums of the weights.
func randomRows(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	switch rng.IntN(8) {
	case 0:
	case 1, 2:
		v := byte(255 * (rng.IntN(2)))
		if rng.IntN(2) == 0 {
			v = 1
		}
		for i := range b {
			b[i] = v
		}
	default:
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
	}
	return b
}

// guarded returns n bytes (capacity n) inside a buffer whose 64-byte guard
// bands on either side hold a pattern, and a check that they still do.
func guarded(n int) ([]byte, func() bool) {
	const band = 64
	buf := make([]byte, n+2*band)
	for i := range buf {
		buf[i] = 0xA5
	}
	return buf[band : band+n : band+n], func() bool {
		for _, b := range append(buf[:band:band], buf[band+n:]...) {
			if b != 0xA5 {
				return false
			}
		}
		return true
	}
}

// TestVerticalAVX2MatchesGo: the vertical pass of Resizers with random
// plans (1 to 7 rows per output, every kind of weight, output rows of 1
// to 70 pixels, so that the AVX2 tail overlaps the last whole step or the
// row is too short for it) gives the same bytes with the AVX2 kernels as
// with the Go ones, NC variants included.
func TestVerticalAVX2MatchesGo(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(31, 32))
	nc, clip := 0, 0
	for taps := 1; taps <= 7; taps++ {
		for _, kind := range weightKinds {
			for w := 1; w <= 70; w++ {
				const inRows, outRows = 12, 6
				stride := 3*w + rng.IntN(8)
				in := randomRows(rng, stride*inRows)
				r := &Resizer{win: image.Rect(0, 0, w, outRows), needV: true}
				r.v = axisPlan{ksize: taps, bounds: make([]int, 2*outRows), kk: make([]int32, taps*outRows)}
				for y := 0; y < outRows; y++ {
					n := 1 + rng.IntN(taps)
					if y == 0 {
						n = taps
					}
					r.v.bounds[2*y], r.v.bounds[2*y+1] = rng.IntN(inRows-n+1), n
					k := r.v.kk[y*taps : y*taps+n]
					kind.draw(rng, k)
					if sumsFitByte(k) {
						nc++
					} else {
						clip++
					}
				}
				col := rng.IntN(stride - 3*w + 1)
				acc := make([]int32, 3*w)
				got, bandsOK := guarded(3 * w * outRows)
				in0 := bytes.Clone(in)
				r.vertical(got, in, stride, col, acc)
				if !bandsOK() || !bytes.Equal(in, in0) {
					t.Fatalf("%d taps, width %d: wrote outside the output row", taps, w)
				}
				restore := disableAVX2()
				want := make([]byte, len(got))
				r.vertical(want, in, stride, col, acc)
				restore()
				if !bytes.Equal(got, want) {
					t.Fatalf("%d taps, %s weights %v, width %d: AVX2 %v, Go %v", taps, kind.name, r.v.kk, w, got, want)
				}
			}
		}
	}
	if nc == 0 || clip == 0 {
		t.Errorf("the cases ran %d NC and %d clipping rows: both variants must be covered", nc, clip)
	}
}

// randomHPlan draws a horizontal plan of outputs outputs with taps taps
// over a row of in pixels: non-decreasing offsets, the last ones at the
// right edge as newHPlan makes them (or, half the time, wherever they get
// to, as in a crop window), weights of the given kind.
func randomHPlan(rng *rand.Rand, taps, outputs, in int, draw func(*rand.Rand, []int32)) hplan {
	hp := hplan{taps: taps, off: make([]int, outputs), w: make([]int32, outputs*taps)}
	x, edge := 0, rng.IntN(2) == 0
	for i := range hp.off {
		x = min(x+rng.IntN(3), in-taps)
		if edge && outputs-i <= 2 {
			x = in - taps
		}
		hp.off[i] = 3 * x
		draw(rng, hp.w[i*taps:(i+1)*taps])
	}
	hp.noClip = true
	for i := range hp.off {
		hp.noClip = hp.noClip && sumsFitByte(hp.w[i*taps:(i+1)*taps])
	}
	return hp
}

// TestHorizontalAVX2MatchesGo: the horizontal pass of Resizers with random
// plans (2 to 17 taps: the unrolled kernels and the looping one; every
// kind of weight, 1 to 70 outputs, offsets reaching the row's end) gives
// the same bytes with the AVX2 kernels as with the Go ones, NC variants
// included, and the AVX2 kernels do run.
func TestHorizontalAVX2MatchesGo(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(33, 34))
	nc, clip := 0, 0
	for taps := 2; taps <= 17; taps++ {
		wide := 0
		for _, kind := range weightKinds {
			for outputs := 1; outputs <= 70; outputs++ {
				const rows = 3
				in := taps + rng.IntN(2*outputs+16)
				src := randomRows(rng, 3*in*rows)
				r := &Resizer{sw: in, win: image.Rect(0, 0, outputs, rows), needH: true}
				r.h = randomHPlan(rng, taps, outputs, in, kind.draw)
				r.h.wide = newHWide(&r.h, 3*in)
				if r.h.noClip {
					nc++
				} else {
					clip++
				}
				if r.h.wide != nil {
					wide++
				}
				got, bandsOK := guarded(3 * outputs * rows)
				src0 := bytes.Clone(src)
				r.horizontal(got, src, 0, rows)
				if !bandsOK() || !bytes.Equal(src, src0) {
					t.Fatalf("%d taps, %d outputs: wrote outside the output row", taps, outputs)
				}
				restore := disableAVX2()
				want := make([]byte, len(got))
				r.horizontal(want, src, 0, rows)
				restore()
				if !bytes.Equal(got, want) {
					t.Fatalf("%d taps, %s weights, %d outputs over %d pixels (offsets %v): AVX2\n%v\nGo\n%v",
						taps, kind.name, outputs, in, r.h.off, got, want)
				}
			}
		}
		if wide == 0 {
			t.Errorf("%d taps: %d plans with an AVX2 layout", taps, wide)
		}
	}
	if nc == 0 || clip == 0 {
		t.Errorf("the cases ran %d NC and %d clipping plans: both must be covered", nc, clip)
	}
}

// TestHWideReads: newHWide gives the kernels exactly the outputs whose
// loads (16 bytes per 5 taps, 15 bytes apart) stay inside the row.
func TestHWideReads(t *testing.T) {
	requireAVX2(t)
	for taps := 2; taps <= 17; taps++ {
		const in, outputs = 40, 40
		hp := hplan{taps: taps, off: make([]int, outputs), w: make([]int32, outputs*taps)}
		for i := range hp.off {
			hp.off[i] = 3 * min(i, in-taps) // output i at pixel i, up to the edge
		}
		read := 16 // one load per 5 taps, 15 bytes apart
		switch {
		case taps > 15:
			read = 61
		case taps > 10:
			read = 46
		case taps > 5:
			read = 31
		}
		want := (3*in-read)/3 + 1 // pixels x with 3x+read <= 3in
		hw := newHWide(&hp, 3*in)
		if hw == nil || hw.n != want {
			t.Errorf("%d taps: layout %+v, want the first %d outputs", taps, hw, want)
		}
	}
}

// TestResizerWithoutAVX2 runs the Pillow-reference comparisons of the
// Resizer with the Go kernels too (the default build runs them with the
// AVX2 kernels; -tags purego only with the Go ones).
func TestResizerWithoutAVX2(t *testing.T) {
	requireAVX2(t)
	defer disableAVX2()()
	for _, test := range []func(*testing.T){TestResizerMatchesReference, TestResizerImageNetShapes, TestFusedResizeEdgeCrop} {
		test(t)
	}
}

// BenchmarkResizeAVX2 compares the AVX2 and Go kernels on the test
// pipeline's fused ResizeEdge(256)+CenterCrop(224) of an ImageNet-sized
// picture (3-4 taps) and of a 12-megapixel phone photo (about 25 taps: the
// looping kernels).
func BenchmarkResizeAVX2(b *testing.B) {
	for _, size := range [][2]int{{500, 375}, {4032, 3024}} {
		sw, sh := size[0], size[1]
		src := randomImage(rand.New(rand.NewPCG(1, 1)), sw, sh)
		dw, dh := ResizeEdgeSize(sw, sh, 256, "short")
		x, y := (dw-224)/2, (dh-224)/2
		r := Bilinear.NewCropResizer(dw, dh, sw, sh, image.Rect(x, y, x+224, y+224))
		for _, avx := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dx%d/avx2=%v", sw, sh, avx), func(b *testing.B) {
				if !avx {
					defer disableAVX2()()
				}
				dst := NewImage(224, 224)
				for b.Loop() {
					r.Resize(dst, src)
				}
			})
		}
	}
}

// FuzzResizeAVX2: a (crop) Resizer of any filter and shape gives the same
// bytes with the AVX2 kernels as with the Go ones.
func FuzzResizeAVX2(f *testing.F) {
	f.Add(uint16(500), uint16(375), uint16(341), uint16(256), uint8(0), uint16(58), uint16(16), uint64(1))
	f.Add(uint16(640), uint16(427), uint16(383), uint16(256), uint8(1), uint16(79), uint16(16), uint64(2))
	f.Add(uint16(97), uint16(31), uint16(13), uint16(90), uint8(4), uint16(3), uint16(0), uint64(3))
	f.Add(uint16(40), uint16(40), uint16(9), uint16(9), uint8(3), uint16(0), uint16(0), uint64(4))
	f.Fuzz(func(t *testing.T, sw, sh, dw, dh uint16, filter uint8, x0, y0 uint16, seed uint64) {
		requireAVX2(t)
		size := func(v uint16) int { return 1 + int(v)%700 }
		srcW, srcH, dstW, dstH := size(sw), size(sh), size(dw), size(dh)
		fl := []*Filter{Bilinear, Bicubic, Lanczos, Box, Hamming}[int(filter)%5]
		x, y := int(x0)%dstW, int(y0)%dstH
		crop := image.Rect(x, y, x+1+int(x0>>5)%(dstW-x), y+1+int(y0>>5)%(dstH-y))
		rng := rand.New(rand.NewPCG(seed, seed))
		src := randomImage(rng, srcW, srcH)
		got := NewImage(crop.Dx(), crop.Dy())
		fl.NewCropResizer(dstW, dstH, srcW, srcH, crop).Resize(got, src)
		restore := disableAVX2()
		want := NewImage(crop.Dx(), crop.Dy())
		fl.NewCropResizer(dstW, dstH, srcW, srcH, crop).Resize(want, src)
		restore()
		diffPixels(t, fmt.Sprintf("%s %dx%d -> %dx%d window %v", fl.Name, srcW, srcH, dstW, dstH, crop), got, want)
	})
}
