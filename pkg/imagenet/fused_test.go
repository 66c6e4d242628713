package imagenet

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

// TestFusedResizeEdgeCrop: a pipeline's fused ResizeEdge+CenterCrop step
// gives exactly the bytes of its two steps applied one after the other (and
// of the plain Pillow transcription, cropped), on many random sizes: odd
// sizes, portrait and landscape, upscaling, unchanged size, crops larger
// than the resized image, every edge rule and filter; with and without a
// reused output buffer.
func TestFusedResizeEdgeCrop(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	n := 400
	if testing.Short() {
		n = 100
	}
	var buf *Image
	partial := 0
	for i := 0; i < n; i++ {
		w, h := 1+rng.IntN(160), 1+rng.IntN(160)
		scale := 1 + rng.IntN(140)
		switch i % 10 {
		case 0:
			scale = min(w, h) // the short edge already has the size
		case 1:
			scale = 2*max(w, h) + rng.IntN(5) // upscaling
		}
		cw, ch := 1+rng.IntN(180), 1+rng.IntN(180)
		if i%3 == 0 {
			ch = cw
		}
		edge := []string{"short", "long", "width", "height"}[rng.IntN(4)]
		interp := []string{"bilinear", "bicubic", "lanczos", "box", "hamming"}[rng.IntN(5)]
		if i%2 == 0 {
			interp = "bilinear"
		}
		steps := []map[string]any{
			{"type": "LoadImageFromFile"},
			{"type": "ResizeEdge", "scale": float64(scale), "edge": edge, "backend": "pillow", "interpolation": interp},
			{"type": "CenterCrop", "crop_size": []any{float64(cw), float64(ch)}},
			{"type": "PackInputs"},
		}
		name := fmt.Sprintf("%dx%d ResizeEdge(%d, %s, %s) CenterCrop(%d, %d)", w, h, scale, edge, interp, cw, ch)
		p := mustPipeline(t, steps)
		src := randomImage(rng, w, h)

		// Unfused: the steps one by one.
		var want *Image
		var wantErr error
		m := src.Clone()
		for _, s := range p.Steps {
			if m, wantErr = s.Apply(m, nil); wantErr != nil {
				break
			}
		}
		if wantErr == nil {
			want = m
			// The fused step reads only sourceRect: other pixels scrambled
			// give the same bytes.
			if r, ok := p.sourceRect(w, h); ok {
				if r != src.Bounds() {
					partial++
				}
				scr := src.Clone()
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						if !image.Pt(x, y).In(r) {
							i := 3 * (y*w + x)
							scr.Pix[i], scr.Pix[i+1], scr.Pix[i+2] = byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))
						}
					}
				}
				got, err := p.Apply(scr, nil)
				if err != nil {
					t.Fatal(err)
				}
				diffPixels(t, fmt.Sprintf("%s, pixels outside %v scrambled", name, r), got, want)
			}
		}

		got, err := p.Apply(src.Clone(), nil)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: fused error %v, unfused error %v", name, err, wantErr)
		}
		if err != nil {
			continue // ResizeEdge gives an empty size
		}
		diffPixels(t, name, got, want)

		// The Pillow transcription, cropped.
		f, _ := filterByName(interp)
		rw, rh := ResizeEdgeSize(w, h, scale, edge)
		ref := pillowResizeRef(f, src, rw, rh).Crop(CenterCropRect(rw, rh, cw, ch))
		diffPixels(t, name+" vs reference", got, ref)

		// A reused output buffer (possibly larger than needed).
		got2, err := p.apply(src.Clone(), nil, buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got2.Width != want.Width || got2.Height != want.Height || !bytes.Equal(got2.Pix, want.Pix) {
			t.Fatalf("%s: with a reused buffer the result differs", name)
		}
		if buf == nil || cap(got2.Pix) > cap(buf.Pix) {
			buf = got2
		}
		if t.Failed() {
			return
		}
	}
	if partial < n/4 {
		t.Fatalf("sourceRect was smaller than the image in only %d of %d cases", partial, n)
	}
}
