package jpeg

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// TestDecodeRegion: on every committed test JPEG (every sampling, fancy
// and box upsampler, progressive, arithmetic, restart intervals, CMYK,
// EXIF orientations, odd sizes, damaged files) and many regions, the
// pixels of DecodeRegion inside the region are Decode's, and the others
// are zero whenever the region was used. A region one pixel off (a
// margin too small for an upsampler, a block span rounded down) fails it.
func TestDecodeRegion(t *testing.T) {
	paths := fixtures.TestJPEGs(t)
	rng := rand.New(rand.NewPCG(5, 6))
	used := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		full, err := Decode(data)
		if err != nil {
			continue // the files OpenCV refuses: DecodeRegion must refuse them too
		}
		w, h := full.Width, full.Height
		rects := []image.Rectangle{image.Rect(0, 0, w, h), image.Rect(0, 0, 1, 1), image.Rect(w-1, h-1, w, h), {}}
		for i := 0; i < 12; i++ {
			x0, y0 := rng.IntN(w), rng.IntN(h)
			rects = append(rects, image.Rect(x0, y0, x0+1+rng.IntN(w-x0), y0+1+rng.IntN(h-y0)))
		}
		for _, r := range rects {
			name := fmt.Sprintf("%s %v", filepath.Base(p), r)
			d := &decoder{data: data, region: r, useRegion: true}
			got, err := d.decode()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if d.regionUsed {
				used++
				if len(got.Warnings) > 0 {
					got, err = DecodeRegion(data, r)
					if err != nil || !bytes.Equal(got.Pix, full.Pix) {
						t.Fatalf("%s: a damaged file must be decoded in full (err %v)", name, err)
					}
					continue
				}
			} else if !bytes.Equal(got.Pix, full.Pix) {
				t.Fatalf("%s: region not used, but the image differs from Decode's", name)
			}
			compareRegion(t, name, got, full, r.Intersect(image.Rect(0, 0, w, h)), d.regionUsed)
		}
	}
	if used < 300 {
		t.Fatalf("the region was used only %d times", used)
	}
}

func compareRegion(t *testing.T, name string, got, want *Image, r image.Rectangle, zeroOutside bool) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height {
		t.Fatalf("%s: %dx%d, want %dx%d", name, got.Width, got.Height, want.Width, want.Height)
	}
	for y := 0; y < got.Height; y++ {
		for x := 0; x < got.Width; x++ {
			i := 3 * (y*got.Width + x)
			g, wv := got.Pix[i:i+3], want.Pix[i:i+3]
			switch {
			case image.Pt(x, y).In(r):
				if !bytes.Equal(g, wv) {
					t.Fatalf("%s: pixel (%d,%d) inside the region is %v, want %v", name, x, y, g, wv)
				}
			case zeroOutside:
				if g[0]|g[1]|g[2] != 0 {
					t.Fatalf("%s: pixel (%d,%d) outside the region is %v, want zero", name, x, y, g)
				}
			}
		}
	}
}
