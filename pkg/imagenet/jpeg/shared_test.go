package jpeg

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

type sharedManifest struct {
	Files []struct {
		Name     string `json:"name"`
		JPEG     string `json:"jpeg"`
		Expected *struct {
			Path  string `json:"path"`
			Shape [3]int `json:"shape"`
		} `json:"expected"`
	} `json:"files"`
}

// TestSharedFixtures decodes every JPEG of the shared fixture folder and
// compares with OpenCV's bytes (skipped when the folder is absent; the
// committed goldens in testdata/jpeg cover the same files).
func TestSharedFixtures(t *testing.T) {
	mpath := fixtures.Shared(t, "jpeg/manifest.json")
	dir := filepath.Dir(mpath)
	var m sharedManifest
	raw, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		t.Run(f.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, f.JPEG))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Decode(data)
			if f.Expected == nil {
				if err == nil {
					t.Fatalf("got a %dx%d image, want an error (OpenCV returns none)", img.Width, img.Height)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want, err := os.ReadFile(filepath.Join(dir, f.Expected.Path))
			if err != nil {
				t.Fatal(err)
			}
			compareImage(t, img, want, f.Expected.Shape[1], f.Expected.Shape[0])
		})
	}
}

func compareImage(t *testing.T, img *Image, want []byte, w, h int) {
	t.Helper()
	if img.Width != w || img.Height != h {
		t.Fatalf("size %dx%d, want %dx%d", img.Width, img.Height, w, h)
	}
	if len(img.Pix) != len(want) {
		t.Fatalf("len(Pix) = %d, want %d", len(img.Pix), len(want))
	}
	n, maxd, first := 0, 0, -1
	for i := range want {
		dv := int(img.Pix[i]) - int(want[i])
		if dv < 0 {
			dv = -dv
		}
		if dv != 0 {
			if first < 0 {
				first = i
			}
			n++
			maxd = max(maxd, dv)
		}
	}
	if n > 0 {
		p := first / 3
		t.Errorf("%d bytes differ (max %d); first at x=%d y=%d channel %d: got %d want %d",
			n, maxd, p%w, p/w, first%3, img.Pix[first], want[first])
	}
}

// TestSharedPipelineInputs checks the decoded_bgr_u8 arrays that the
// upstream pipeline trace recorded for its JPEG inputs.
func TestSharedPipelineInputs(t *testing.T) {
	mpath := fixtures.Shared(t, "manifest.json")
	dir := filepath.Dir(mpath)
	var m struct {
		Images []struct {
			Name     string `json:"name"`
			File     string `json:"file"`
			Decoded  string `json:"decoded_bgr_u8"`
			Original struct {
				Width  int `json:"width"`
				Height int `json:"height"`
			} `json:"original"`
		} `json:"images"`
	}
	raw, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, im := range m.Images {
		if im.Decoded == "" {
			continue
		}
		n++
		t.Run(im.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, im.File))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, im.Decoded))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			compareImage(t, img, want, im.Original.Width, im.Original.Height)
		})
	}
	if n == 0 {
		t.Fatal("no decoded_bgr_u8 entries in the manifest")
	}
}
