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
// are zero whenever the region was used (and, decoded into a used buffer,
// the region's pixels are the same). A region one pixel off (a
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
			d := &decoder{data: data, region: r}
			got, err := d.decode()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if d.regionUsed {
				used++
				if len(got.Warnings) > 0 {
					got, err = DecodeRegion(data, r, nil)
					if err != nil || !bytes.Equal(got.Pix, full.Pix) {
						t.Fatalf("%s: a damaged file must be decoded in full (err %v)", name, err)
					}
					continue
				}
			} else if !bytes.Equal(got.Pix, full.Pix) {
				t.Fatalf("%s: region not used, but the image differs from Decode's", name)
			}
			compareRegion(t, name, got, full, r.Intersect(image.Rect(0, 0, w, h)), d.regionUsed)

			// Into a used buffer: the region's pixels are the same, and a
			// full decode (region not used) leaves nothing of the buffer.
			dirty := bytes.Repeat([]byte{0xAB}, 3*w*h+5)
			got, err = DecodeRegion(data, r, dirty)
			if err != nil {
				t.Fatalf("%s into a buffer: %v", name, err)
			}
			if &got.Pix[0] != &dirty[0] && len(got.Warnings) == 0 && exifOrientation(d.exif) < 2 {
				t.Fatalf("%s: the buffer given was not used", name)
			}
			compareRegion(t, name+" into a buffer", got, full, r.Intersect(image.Rect(0, 0, w, h)), false)
			if !d.regionUsed && !bytes.Equal(got.Pix, full.Pix) {
				t.Fatalf("%s: decoded in full into a used buffer, the image differs from Decode's", name)
			}
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

// TestDecodeRegionBufferNoRows: a file cut short before its first row,
// decoded in full into a used buffer, is black like Decode's.
func TestDecodeRegionBufferNoRows(t *testing.T) {
	data := readTestdata(t, "q75_420.jpg")
	sos := bytes.Index(data, []byte{0xFF, mSOS})
	cut := data[:sos+2+int(data[sos+2])<<8|int(data[sos+3])+4]
	want, err := Decode(cut)
	if err != nil || len(want.Warnings) == 0 {
		t.Fatalf("Decode of the cut file: %v, warnings %q", err, want.Warnings)
	}
	if bytes.Count(want.Pix, []byte{0}) != len(want.Pix) {
		t.Fatal("the cut file does not decode black")
	}
	dirty := bytes.Repeat([]byte{0xAB}, len(want.Pix))
	got, err := DecodeRegion(cut, image.Rect(0, 0, want.Width, want.Height), dirty)
	if err != nil || !bytes.Equal(got.Pix, want.Pix) {
		t.Fatalf("into a used buffer: err %v, or not black", err)
	}
}
