package imagenet

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// testPipelineSteps is the val/test pipeline of every MobileOne config
// (shared/fixtures/configs/s0_train.json, test_dataloader.dataset.pipeline).
var testPipelineSteps = []map[string]any{
	{"type": "LoadImageFromFile"},
	{"type": "ResizeEdge", "scale": 256.0, "edge": "short", "backend": "pillow"},
	{"type": "CenterCrop", "crop_size": 224.0},
	{"type": "PackInputs"},
}

type preprocessGolden struct {
	Name                string  `json:"name"`
	Stem                string  `json:"stem"`
	Format              string  `json:"format"`
	DecodedWH           [2]int  `json:"decoded_wh"`
	ResizedWH           [2]int  `json:"resized_wh"`
	CropX1Y1            [2]int  `json:"crop_x1_y1"`
	CropOffsetExactHalf [2]bool `json:"crop_offset_exact_half"`
	CropSHA256          string  `json:"crop_bgr_u8_sha256"`
	PreprocessedSHA256  string  `json:"preprocessed_f32_sha256"`
	DecodedSHA256       *string `json:"decoded_bgr_u8_sha256"`
}

func loadGoldens(t testing.TB) []preprocessGolden {
	t.Helper()
	data, err := os.ReadFile(fixtures.Testdata(t, "imagenet/preprocess_goldens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Images []preprocessGolden `json:"images"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Images) != 8 {
		t.Fatalf("preprocess_goldens.json lists %d images, want 8", len(g.Images))
	}
	return g.Images
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func float32Bytes(f []float32) []byte {
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawBGR wraps a headerless uint8 [h, w, 3] dump.
func rawBGR(t testing.TB, path string, w, h int) *Image {
	t.Helper()
	b := readFile(t, path)
	if len(b) != 3*w*h {
		t.Fatalf("%s: %d bytes, want %d for %dx%d", path, len(b), 3*w*h, w, h)
	}
	return &Image{Width: w, Height: h, Pix: b}
}

// diffPixels fails with the first differing byte, its (x, y, channel) and
// the number of differing bytes.
func diffPixels(t testing.TB, name string, got, want *Image) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height {
		t.Fatalf("%s: size %dx%d, want %dx%d", name, got.Width, got.Height, want.Width, want.Height)
	}
	first, n, worst := -1, 0, 0
	for i := range want.Pix {
		if got.Pix[i] != want.Pix[i] {
			if first < 0 {
				first = i
			}
			n++
			worst = max(worst, absInt(int(got.Pix[i])-int(want.Pix[i])))
		}
	}
	if n > 0 {
		px := first / 3
		t.Errorf("%s: %d of %d bytes differ (max |diff| %d); first at x=%d y=%d c=%d: got %d want %d",
			name, n, len(want.Pix), worst, px%want.Width, px/want.Width, first%3, got.Pix[first], want.Pix[first])
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// writeGot saves a mismatching output as <name>.got in the test's temp dir
// and logs the path, for inspection.
func writeGot(t testing.TB, name string, b []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".got")
	if err := os.WriteFile(p, b, 0o644); err == nil {
		t.Logf("wrote %s", p)
	}
}
