package jpeg

import (
	"bytes"
	"errors"
	"image"
	stdjpeg "image/jpeg"
	"os"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(fixtures.Testdata(t, "jpeg/images/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestStandardHuffmanTables checks the built-in Annex K tables against the
// DHT segment Go's encoder writes (which uses the same Annex K tables).
func TestStandardHuffmanTables(t *testing.T) {
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	d := &decoder{data: buf.Bytes()}
	if err := d.readHeader(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []*huffSpec{stdDCLuma, stdDCChroma} {
		if *d.dcTables[i] != *want {
			t.Errorf("DC table %d differs from the encoder's", i)
		}
	}
	for i, want := range []*huffSpec{stdACLuma, stdACChroma} {
		if *d.acTables[i] != *want {
			t.Errorf("AC table %d differs from the encoder's", i)
		}
	}
}

// TestDefaultHuffmanTables removes the DHT segments of a file written with
// the standard tables: libjpeg-turbo then installs the Annex K tables, so
// the pixels must not change.
func TestDefaultHuffmanTables(t *testing.T) {
	src := image.NewYCbCr(image.Rect(0, 0, 37, 21), image.YCbCrSubsampleRatio420)
	for i := range src.Y {
		src.Y[i] = byte(i * 7)
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = byte(i*3), byte(255-i*5)
	}
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, src, &stdjpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	var stripped []byte
	for i := 0; i < len(full); {
		if full[i] == 0xFF && full[i+1] == mDHT {
			n := int(full[i+2])<<8 | int(full[i+3])
			i += 2 + n
			continue
		}
		if full[i] == 0xFF && full[i+1] == mSOS {
			stripped = append(stripped, full[i:]...)
			break
		}
		stripped = append(stripped, full[i])
		i++
	}
	a, err := Decode(full)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(stripped)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Fatal("decoding without DHT gives different pixels")
	}
}

func TestErrors(t *testing.T) {
	good := readTestdata(t, "sub_420_q85.jpg")
	sofAt := bytes.Index(good, []byte{0xFF, mSOF0})
	if sofAt < 0 {
		t.Fatal("no SOF0 in sub_420_q85.jpg")
	}
	patch := func(off int, b ...byte) []byte {
		c := append([]byte(nil), good...)
		copy(c[off:], b)
		return c
	}
	cases := []struct {
		name        string
		data        []byte
		unsupported bool
	}{
		{"empty", nil, false},
		{"png", []byte("\x89PNG\r\n\x1a\n"), false},
		{"soi only", []byte{0xFF, 0xD8, 0xFF}, false},
		{"header cut", good[:sofAt+5], false},
		{"12-bit", patch(sofAt+4, 12), true},
		{"lossless SOF3", patch(sofAt+1, mSOF3), true},
		{"zero width", patch(sofAt+7, 0, 0), false},
		{"too large", patch(sofAt+5, 0xFF, 0xDC, 0xFF, 0xDC), true},
		{"bad sampling", patch(sofAt+11, 0x52), false},
		{"fractional sampling", patch(sofAt+11, 0x32, 0, 2, 0x21), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := Decode(c.data)
			if err == nil {
				t.Fatalf("got a %dx%d image, want an error", img.Width, img.Height)
			}
			var ue UnsupportedError
			var fe FormatError
			if c.unsupported && !errors.As(err, &ue) {
				t.Fatalf("error %v (%T), want UnsupportedError", err, err)
			}
			if !c.unsupported && !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want FormatError", err, err)
			}
		})
	}
}

// TestTruncatedEverywhere cuts files at many offsets: single-scan files
// give a full-size image once the first scan has started (OpenCV's partial
// image) and multi-scan files an error, and nothing panics or hangs.
func TestTruncatedEverywhere(t *testing.T) {
	for _, name := range []string{"sub_420_q85.jpg", "progressive_420_q85.jpg", "rst_opencv_every7mcu_odd.jpg", "arith_420_q85.jpg", "gray_q85.jpg"} {
		data := readTestdata(t, name)
		full, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		sos := bytes.Index(data, []byte{0xFF, mSOS})
		prog := bytes.Contains(data[:sos], []byte{0xFF, mSOF2})
		arith := bytes.Contains(data[:sos], []byte{0xFF, mSOF9})
		for cut := 0; cut < len(data)-2; cut += 1 + cut/50 {
			img, err := Decode(data[:cut])
			if cut > sos+20 && !prog && !arith {
				if err != nil {
					t.Fatalf("%s cut at %d: %v, want a partial image", name, cut, err)
				}
				if img.Width != full.Width || img.Height != full.Height {
					t.Fatalf("%s cut at %d: size %dx%d", name, cut, img.Width, img.Height)
				}
			}
			if prog && err == nil {
				t.Fatalf("%s cut at %d: got an image, want an error", name, cut)
			}
		}
	}
}

// TestTruncatedRows checks the documented partial-image rule directly: the
// rows after the last delivered one repeat it.
func TestTruncatedRows(t *testing.T) {
	img, err := Decode(readTestdata(t, "truncated_baseline.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	w := img.Width * 3
	last := img.Pix[109*w : 110*w]
	for y := 110; y < img.Height; y++ {
		if !bytes.Equal(img.Pix[y*w:(y+1)*w], last) {
			t.Fatalf("row %d is not a copy of row 109", y)
		}
	}
}

// TestCorruptNoPanic flips bytes through the entropy-coded data.
func TestCorruptNoPanic(t *testing.T) {
	for _, name := range []string{"sub_420_q85.jpg", "progressive_420_q85.jpg", "arith_progressive_420_q85.jpg", "rst_opencv_progressive_every3mcu.jpg"} {
		data := readTestdata(t, name)
		for i := 2; i < len(data); i += 97 {
			c := append([]byte(nil), data...)
			c[i] ^= 0x5A
			checkDecode(t, c)
			c[i] = 0xFF
			checkDecode(t, c)
		}
	}
}

// TestLargeImageShortData: a large declared size with almost no data is
// decoded quickly (OpenCV's full-size image of repeated rows), without a
// hang; sizes above 2^28 pixels are refused before allocating.
func TestLargeImageShortData(t *testing.T) {
	data := append([]byte(nil), readTestdata(t, "odd_7x13_420.jpg")...)
	sof := bytes.Index(data, []byte{0xFF, mSOF0})
	copy(data[sof+5:], []byte{0x0F, 0xFF, 0x0F, 0xFF}) // 4095 x 4095
	done := make(chan struct{})
	go func() {
		defer close(done)
		img, err := Decode(data)
		if err != nil || img.Width != 4095 || img.Height != 4095 {
			t.Errorf("Decode: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Decode took more than 60 s")
	}
}
