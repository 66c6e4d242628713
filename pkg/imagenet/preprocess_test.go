package imagenet

import (
	"bytes"
	"encoding/json"
	"image"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// tracePipeline runs the MobileOne test pipeline step by step and returns
// the resized image, the crop and the normalized tensor.
func tracePipeline(t testing.TB, img *Image) (resized, crop *Image, x []float32) {
	t.Helper()
	p, err := NewPipeline(testPipelineSteps)
	if err != nil {
		t.Fatal(err)
	}
	// Steps: Load (identity), ResizeEdge, CenterCrop, PackInputs (identity).
	resized, err = p.Steps[1].Apply(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	crop, err = p.Steps[2].Apply(resized, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The whole pipeline must agree with the step-by-step trace.
	whole, err := p.Apply(img.Clone(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(whole.Pix, crop.Pix) {
		t.Fatal("Pipeline.Apply differs from applying its steps one by one")
	}
	x = make([]float32, 3*crop.Width*crop.Height)
	ImageNetNormalizer().ToCHW(x, crop)
	return resized, crop, x
}

// checkTrace compares one image's pipeline trace with its golden.
func checkTrace(t *testing.T, g preprocessGolden, input *Image, wantCrop *Image) []float32 {
	t.Helper()
	if input.Width != g.DecodedWH[0] || input.Height != g.DecodedWH[1] {
		t.Fatalf("decoded %dx%d, want %dx%d", input.Width, input.Height, g.DecodedWH[0], g.DecodedWH[1])
	}
	resized, crop, x := tracePipeline(t, input)
	if got := [2]int{resized.Width, resized.Height}; got != g.ResizedWH {
		t.Errorf("resized to %v, want %v", got, g.ResizedWH)
	}
	r := CenterCropRect(resized.Width, resized.Height, 224, 224)
	if got := [2]int{r.Min.X, r.Min.Y}; got != g.CropX1Y1 {
		t.Errorf("crop offset %v, want %v (pipeline_trace.crop_x1_y1)", got, g.CropX1Y1)
	}
	if wantCrop != nil {
		diffPixels(t, "crop", crop, wantCrop)
	}
	if got := sha256Hex(crop.Pix); got != g.CropSHA256 {
		t.Errorf("crop sha256 %s, want %s", got, g.CropSHA256)
		writeGot(t, g.Stem+"_crop_bgr_u8.bin", crop.Pix)
	}
	if got := sha256Hex(float32Bytes(x)); got != g.PreprocessedSHA256 {
		t.Errorf("normalized tensor sha256 %s, want %s", got, g.PreprocessedSHA256)
	}
	return x
}

// TestPreprocessCommitted checks the committed photos (two PNGs, one of
// them grayscale, and one JPEG starting from OpenCV's decoded pixels):
// crop bit for bit and the float32 tensor by digest.
func TestPreprocessCommitted(t *testing.T) {
	committed := map[string]bool{"skimage_chelsea": true, "skimage_camera": true, "gomod_go-turns-two-280x360": true}
	n := 0
	for _, g := range loadGoldens(t) {
		if !committed[g.Stem] {
			continue
		}
		n++
		t.Run(g.Stem, func(t *testing.T) {
			var input *Image
			if g.Format == "PNG" {
				var err error
				input, err = DecodeFile(fixtures.Testdata(t, "imagenet/"+g.Name))
				if err != nil {
					t.Fatal(err)
				}
			} else {
				input = rawBGR(t, fixtures.Testdata(t, "imagenet/"+g.Stem+"_decoded_bgr_u8.bin"), g.DecodedWH[0], g.DecodedWH[1])
				if got := sha256Hex(input.Pix); got != *g.DecodedSHA256 {
					t.Fatalf("decoded dump sha256 %s, want %s", got, *g.DecodedSHA256)
				}
			}
			want := rawBGR(t, fixtures.Testdata(t, "imagenet/"+g.Stem+"_crop_bgr_u8.bin"), 224, 224)
			checkTrace(t, g, input, want)
		})
	}
	if n != len(committed) {
		t.Fatalf("found %d committed images in the goldens, want %d", n, len(committed))
	}
}

// TestPreprocessShared checks all eight reference photos against the
// shared fixtures: every PNG from its file, every JPEG from OpenCV's
// decoded pixels; crop and float32 tensor bit for bit.
func TestPreprocessShared(t *testing.T) {
	for _, g := range loadGoldens(t) {
		t.Run(g.Stem, func(t *testing.T) {
			pre := "inputs/preprocessed/" + g.Stem
			var input *Image
			if g.Format == "PNG" {
				var err error
				input, err = DecodeFile(fixtures.Shared(t, "inputs/images/"+g.Name))
				if err != nil {
					t.Fatal(err)
				}
			} else {
				input = rawBGR(t, fixtures.Shared(t, pre+"_decoded_bgr_u8.bin"), g.DecodedWH[0], g.DecodedWH[1])
			}
			want := rawBGR(t, fixtures.Shared(t, pre+"_crop_bgr_u8.bin"), 224, 224)
			x := checkTrace(t, g, input, want)
			wantX := readFile(t, fixtures.Shared(t, pre+".bin"))
			gotX := float32Bytes(x)
			if !bytes.Equal(gotX, wantX) {
				for i := 0; i < len(wantX); i += 4 {
					if !bytes.Equal(gotX[i:i+4], wantX[i:i+4]) {
						t.Fatalf("normalized tensor differs first at element %d", i/4)
					}
				}
			}
		})
	}
}

// TestDecodeJPEGExact: Decode (pkg/imagenet/jpeg) gives OpenCV's decoded
// pixels byte for byte: the committed JPEG always, the three shared JPEG
// photos when the shared fixtures are present. From the file, the whole
// test pipeline then reproduces the golden crop and float32 tensor.
func TestDecodeJPEGExact(t *testing.T) {
	gs := loadGoldens(t)
	n := 0
	for _, g := range gs {
		if g.Format != "JPEG" {
			continue
		}
		n++
		t.Run(g.Stem, func(t *testing.T) {
			var path, dump string
			if g.Stem == "gomod_go-turns-two-280x360" {
				path = fixtures.Testdata(t, "imagenet/"+g.Name)
				dump = fixtures.Testdata(t, "imagenet/"+g.Stem+"_decoded_bgr_u8.bin")
			} else {
				path = fixtures.Shared(t, "inputs/images/"+g.Name)
				dump = fixtures.Shared(t, "inputs/preprocessed/"+g.Stem+"_decoded_bgr_u8.bin")
			}
			m, err := DecodeFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := rawBGR(t, dump, g.DecodedWH[0], g.DecodedWH[1])
			diffPixels(t, "decoded", m, want)
			if got := sha256Hex(m.Pix); got != *g.DecodedSHA256 {
				t.Errorf("decoded sha256 %s, want %s", got, *g.DecodedSHA256)
			}
			checkTrace(t, g, m, nil)
		})
	}
	if n != 3 {
		t.Fatalf("%d JPEG goldens, want 3", n)
	}
}

// TestDecodeJPEGOrientation: EXIF orientations 1–8 (and a little-endian
// EXIF block with more tags) come out of Decode rotated/flipped as OpenCV
// 4.6 returns them, byte for byte (shared fixtures jpeg/, manifest.json).
func TestDecodeJPEGOrientation(t *testing.T) {
	var m struct {
		Files []struct {
			Name     string `json:"name"`
			Category string `json:"category"`
			JPEG     string `json:"jpeg"`
			Expected *struct {
				Path  string `json:"path"`
				Shape [3]int `json:"shape"`
			} `json:"expected"`
		} `json:"files"`
	}
	if err := json.Unmarshal(readFile(t, fixtures.Shared(t, "jpeg/manifest.json")), &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range m.Files {
		if f.Category != "exif" || f.Expected == nil {
			continue
		}
		n++
		img, err := DecodeFile(fixtures.Shared(t, "jpeg/"+f.JPEG))
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		want := rawBGR(t, fixtures.Shared(t, "jpeg/"+f.Expected.Path), f.Expected.Shape[1], f.Expected.Shape[0])
		diffPixels(t, f.Name, img, want)
	}
	if n < 9 {
		t.Errorf("%d EXIF fixtures, want at least 9", n)
	}
}

// TestCropOffsets covers mmcv CenterCrop's Python-round offsets, including
// the exact halves of the manifest (52.5 → 52, 79.5 → 80).
func TestCropOffsets(t *testing.T) {
	for _, c := range []struct {
		w, h, cw, ch int
		want         image.Rectangle
	}{
		{341, 256, 224, 224, image.Rect(58, 16, 282, 240)}, // spec §3.1: 58.5 → 58
		{383, 256, 224, 224, image.Rect(80, 16, 304, 240)}, // 79.5 → 80 (sklearn_china)
		{256, 329, 224, 224, image.Rect(16, 52, 240, 276)}, // 52.5 → 52 (go-turns-two)
		{384, 256, 224, 224, image.Rect(80, 16, 304, 240)}, // 80.0
		{379, 256, 224, 224, image.Rect(78, 16, 302, 240)}, // 77.5 → 78
		{343, 256, 224, 224, image.Rect(60, 16, 284, 240)}, // 59.5 → 60
		{224, 224, 224, 224, image.Rect(0, 0, 224, 224)},   // exact fit
		{100, 300, 224, 224, image.Rect(0, 38, 100, 262)},  // narrower than the crop: x clamps, crop shrinks
		{101, 50, 224, 224, image.Rect(0, 0, 101, 50)},     // smaller both ways (-61.5 → -62 → 0)
		{300, 200, 100, 50, image.Rect(100, 75, 200, 125)}, // (w, h) crop
	} {
		if got := CenterCropRect(c.w, c.h, c.cw, c.ch); got != c.want {
			t.Errorf("CenterCropRect(%d, %d, %d, %d) = %v, want %v", c.w, c.h, c.cw, c.ch, got, c.want)
		}
	}
}

// TestResizeEdgeSize covers mmpretrain's truncating size rule.
func TestResizeEdgeSize(t *testing.T) {
	for _, c := range []struct {
		w, h, scale  int
		edge         string
		wantW, wantH int
	}{
		{500, 375, 256, "short", 341, 256}, // spec §3.1 example
		{451, 300, 256, "short", 384, 256}, // chelsea: 384.85 → 384
		{640, 427, 256, "short", 383, 256}, // china/rocket: 383.70 → 383
		{280, 360, 256, "short", 256, 329}, // go-turns-two portrait: 329.14 → 329
		{741, 500, 256, "short", 379, 256}, // motorcycle
		{512, 512, 256, "short", 256, 256}, // square: height branch
		{28, 28, 256, "short", 256, 256},   // upscaling
		{500, 375, 256, "long", 256, 192},
		{375, 500, 256, "long", 192, 256},
		{500, 375, 100, "width", 100, 75},
		{500, 375, 100, "height", 133, 100},
		{3, 1000, 256, "short", 256, 85333},
	} {
		w, h := ResizeEdgeSize(c.w, c.h, c.scale, c.edge)
		if w != c.wantW || h != c.wantH {
			t.Errorf("ResizeEdgeSize(%d, %d, %d, %q) = %d×%d, want %d×%d", c.w, c.h, c.scale, c.edge, w, h, c.wantW, c.wantH)
		}
	}
}

func TestDecodeCommittedPNG(t *testing.T) {
	// skimage_camera.png is 8-bit grayscale: OpenCV replicates it into B=G=R.
	m, err := DecodeFile(filepath.Join(fixtures.Testdata(t, "imagenet"), "skimage_camera.png"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(m.Pix); i += 3 {
		if m.Pix[i] != m.Pix[i+1] || m.Pix[i] != m.Pix[i+2] {
			t.Fatalf("grayscale pixel %d not replicated: %v", i/3, m.Pix[i:i+3])
		}
	}
}
