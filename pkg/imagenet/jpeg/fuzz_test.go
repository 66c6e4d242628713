package jpeg

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"os"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// checkDecode runs Decode and DecodeConfig on data and checks the
// invariants every input must satisfy: no panic, errors are FormatError or
// UnsupportedError, and an image has the size DecodeConfig reports.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	w, h, cerr := DecodeConfig(data)
	if cerr == nil && w*h > 1e6 {
		return // keep fuzzing fast, as image/jpeg's FuzzDecode does
	}
	img, err := Decode(data)
	if err != nil {
		var fe FormatError
		var ue UnsupportedError
		if !errors.As(err, &fe) && !errors.As(err, &ue) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		return
	}
	if cerr != nil {
		t.Fatalf("Decode succeeded but DecodeConfig failed: %v", cerr)
	}
	if img.Width != w || img.Height != h || len(img.Pix) != w*h*3 {
		t.Fatalf("image %dx%d with %d bytes, DecodeConfig said %dx%d", img.Width, img.Height, len(img.Pix), w, h)
	}
}

// FuzzDecode is seeded with the committed JPEGs under 30 kB.
func FuzzDecode(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping in short mode")
	}
	for _, p := range fixtures.TestJPEGs(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= 30000 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		checkDecode(t, data)
		// A slow input counts as a finding: Decode must not hang.
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("decoding took %v", d)
		}
	})
}

// FuzzDecodeRegion: on any input and region, DecodeRegion (into a used
// buffer) fails as Decode does, or gives Decode's pixels inside the region.
func FuzzDecodeRegion(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping in short mode")
	}
	for i, p := range fixtures.TestJPEGs(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= 30000 {
			f.Add(data, uint16(i), uint16(2*i), uint16(5+7*i), uint16(3+3*i))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, x0, y0, x1, y1 uint16) {
		if w, h, err := DecodeConfig(data); err == nil && w*h > 1e6 {
			return // keep fuzzing fast, as FuzzDecode does
		}
		want, werr := Decode(data)
		r := image.Rect(int(x0), int(y0), int(x1), int(y1))
		got, err := DecodeRegion(data, r, bytes.Repeat([]byte{0x5A}, 3000))
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("DecodeRegion error %v, Decode error %v", err, werr)
		}
		if err == nil {
			compareRegion(t, fmt.Sprint(r), got, want, r.Intersect(image.Rect(0, 0, want.Width, want.Height)), false)
		}
	})
}
