package imagenet

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	stdjpeg "image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustDecode(t testing.TB, data []byte) *Image {
	t.Helper()
	m, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantPix(t testing.TB, name string, m *Image, w, h int, pix ...byte) {
	t.Helper()
	diffPixels(t, name, m, &Image{Width: w, Height: h, Pix: pix})
}

// TestDecodeOpenCVSemantics: IMREAD_COLOR conventions for each PNG kind.
func TestDecodeOpenCVSemantics(t *testing.T) {
	// 16-bit gray: value>>8, replicated.
	g16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	g16.SetGray16(0, 0, color.Gray16{0x12ff})
	g16.SetGray16(1, 0, color.Gray16{0xff00})
	wantPix(t, "gray16", mustDecode(t, encodePNG(t, g16)), 2, 1, 0x12, 0x12, 0x12, 0xff, 0xff, 0xff)

	// RGBA with transparency: stored colours kept, alpha dropped (no
	// compositing, no premultiplication).
	n := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	n.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 0})
	n.SetNRGBA(1, 0, color.NRGBA{200, 100, 50, 128})
	wantPix(t, "nrgba", mustDecode(t, encodePNG(t, n)), 2, 1, 30, 20, 10, 50, 100, 200)

	// 16-bit RGBA: >>8, alpha dropped.
	n64 := image.NewNRGBA64(image.Rect(0, 0, 1, 1))
	n64.SetNRGBA64(0, 0, color.NRGBA64{0x1234, 0x5678, 0x9abc, 0x7fff})
	wantPix(t, "nrgba64", mustDecode(t, encodePNG(t, n64)), 1, 1, 0x9a, 0x56, 0x12)

	// 16-bit opaque RGB.
	r64 := image.NewRGBA64(image.Rect(0, 0, 1, 1))
	r64.SetRGBA64(0, 0, color.RGBA64{0x0102, 0x0304, 0x0506, 0xffff})
	wantPix(t, "rgb48", mustDecode(t, encodePNG(t, r64)), 1, 1, 5, 3, 1)

	// Palette expanded.
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{4, 5, 6, 255}})
	pal.SetColorIndex(1, 0, 1)
	wantPix(t, "paletted", mustDecode(t, encodePNG(t, pal)), 2, 1, 3, 2, 1, 6, 5, 4)

	// 8-bit gray replicated.
	g := image.NewGray(image.Rect(0, 0, 1, 2))
	g.SetGray(0, 1, color.Gray{77})
	wantPix(t, "gray", mustDecode(t, encodePNG(t, g)), 1, 2, 0, 0, 0, 77, 77, 77)
}

// TestDecodeFormats: BMP, TIFF and GIF give the same pixels as PNG for the
// same opaque image; JPEG goes through decodeJPEG.
func TestDecodeFormats(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 5, 3))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 37)
		if i%4 == 3 {
			src.Pix[i] = 255
		}
	}
	want := mustDecode(t, encodePNG(t, src))
	for name, enc := range map[string]func(*bytes.Buffer) error{
		"bmp":  func(b *bytes.Buffer) error { return bmp.Encode(b, src) },
		"tiff": func(b *bytes.Buffer) error { return tiff.Encode(b, src, nil) },
	} {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			t.Fatal(err)
		}
		if f := Format(b.Bytes()); f != name {
			t.Errorf("Format = %q, want %q", f, name)
		}
		diffPixels(t, name, mustDecode(t, b.Bytes()), want)
	}
	// GIF: palette image, first frame.
	pm := image.NewPaletted(src.Bounds(), palette.Plan9)
	pm.Pix[3] = 200
	var gb bytes.Buffer
	if err := gif.Encode(&gb, pm, nil); err != nil {
		t.Fatal(err)
	}
	c := palette.Plan9[200].(color.RGBA)
	if m := mustDecode(t, gb.Bytes()); m.Pix[9] != c.B || m.Pix[10] != c.G || m.Pix[11] != c.R {
		t.Errorf("gif pixel 3 = %v, want BGR of %v", m.Pix[9:12], c)
	}

	// JPEG is routed through the decodeJPEG variable.
	var jb bytes.Buffer
	if err := stdjpeg.Encode(&jb, src, nil); err != nil {
		t.Fatal(err)
	}
	saved := decodeJPEG
	defer func() { decodeJPEG = saved }()
	called := false
	decodeJPEG = func(data []byte, _ image.Rectangle) (*Image, error) { called = true; return NewImage(1, 1), nil }
	if m := mustDecode(t, jb.Bytes()); !called || m.Width != 1 {
		t.Error("Decode did not use decodeJPEG")
	}
}

// TestDecodePNM: OpenCV's PxM rules: i*255/maxval, P1/P4 1 = black,
// comments, 16-bit samples.
func TestDecodePNM(t *testing.T) {
	for _, c := range []struct {
		name string
		data string
		w, h int
		pix  []byte
	}{
		{"P1", "P1\n# c\n3 1\n1 0 1\n", 3, 1, []byte{0, 0, 0, 255, 255, 255, 0, 0, 0}},
		{"P1 packed", "P1 3 1 101", 3, 1, []byte{0, 0, 0, 255, 255, 255, 0, 0, 0}},
		{"P2 maxval 15", "P2 2 1 15 15 7\n", 2, 1, []byte{255, 255, 255, 119, 119, 119}}, // 7*255/15 = 119
		{"P3", "P3\n1 1\n255\n1 2 3\n", 1, 1, []byte{3, 2, 1}},
		{"P4", "P4\n9 1\n\x80\x80", 9, 1, []byte{0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0}},
		{"P5", "P5 2 1 255\n\x00\xc8", 2, 1, []byte{0, 0, 0, 200, 200, 200}},
		{"P5 16-bit", "P5 1 1 65535\n\xab\xcd", 1, 1, []byte{0xab, 0xab, 0xab}},
		{"P6", "P6 1 1 255\n\x01\x02\x03", 1, 1, []byte{3, 2, 1}},
		{"P6 maxval 3", "P6 1 1 3\n\x01\x02\x03", 1, 1, []byte{255, 170, 85}},
	} {
		m, err := Decode([]byte(c.data))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		diffPixels(t, c.name, m, &Image{Width: c.w, Height: c.h, Pix: c.pix})
	}
}

// TestDecodeErrors: bad input gives FormatError, unsupported input
// UnsupportedError, and DecodeFile names the file.
func TestDecodeErrors(t *testing.T) {
	png := readFile(t, fixtures.Testdata(t, "imagenet/skimage_camera.png"))
	for _, c := range []struct {
		name        string
		data        []byte
		unsupported bool
	}{
		{"empty", nil, false},
		{"truncated png", png[:len(png)/3], false},
		{"png header only", png[:40], false},
		{"corrupt png", append(append([]byte{}, png[:100]...), bytes.Repeat([]byte{0xAA}, 500)...), false},
		{"not an image", []byte("hello world"), false}, // bad input, not an unsupported image
		{"truncated jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16}, false},
		{"pnm short", []byte("P6 4 4 255\n\x01\x02"), false},
		{"pnm huge", []byte("P5 100000 100000 255\n\x00"), true},
		{"pnm bad maxval", []byte("P5 1 1 0\n\x00"), false},
		{"pnm letters", []byte("P2 a b"), false},
	} {
		_, err := Decode(c.data)
		var fe FormatError
		var ue UnsupportedError
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case c.unsupported && !errors.As(err, &ue):
			t.Errorf("%s: %T %v, want UnsupportedError", c.name, err, err)
		case !c.unsupported && !errors.As(err, &fe):
			t.Errorf("%s: %T %v, want FormatError", c.name, err, err)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.png")
	if err := os.WriteFile(bad, png[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bad, filepath.Join(dir, "missing.png")} {
		if _, err := DecodeFile(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("DecodeFile(%s): %v", p, err)
		}
	}
}

// FuzzDecode: Decode never panics or hangs, and a decoded image is
// self-consistent. Seeds: the committed images plus one of each format.
func FuzzDecode(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping fuzz seeds in -short mode")
	}
	for _, name := range []string{"skimage_camera.png", "gomod_go-turns-two-280x360.jpeg"} {
		f.Add(readFile(f, fixtures.Testdata(f, "imagenet/"+name)))
	}
	small := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	small.Pix[3] = 9
	f.Add(encodePNG(f, small))
	var b bytes.Buffer
	bmp.Encode(&b, small)
	f.Add(b.Bytes())
	b.Reset()
	tiff.Encode(&b, small, nil)
	f.Add(b.Bytes())
	for _, s := range []string{"P1 2 2 1011", "P2 1 1 255 7", "P3 1 1 9 1 2 3", "P4 8 1\n\xf0", "P5 1 1 65535\n\x01\x02", "P6 1 1 255\n\x01\x02\x03"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > 1e6 {
			return // as image/jpeg's FuzzDecode: skip very large images
		}
		if Format(data) == "pnm" {
			r := &pnmReader{data: data, pos: 2}
			w, _ := r.uint("", 10)
			h, _ := r.uint("", 10)
			if w*h > 1e6 {
				return
			}
		}
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("WATCHDOG hang on %q", data[:min(len(data), 64)])) })
		defer watchdog.Stop()
		m, err := Decode(data)
		if err != nil {
			var fe FormatError
			var ue UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if m.Width <= 0 || m.Height <= 0 || len(m.Pix) != 3*m.Width*m.Height {
			t.Fatalf("inconsistent image %dx%d with %d bytes", m.Width, m.Height, len(m.Pix))
		}
	})
}
