package jpeg

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite testdata/jpeg/golden.json from the shared fixtures (OpenCV's bytes)")

// golden is testdata/jpeg/golden.json: for every committed JPEG, what
// cv2.imdecode(buf, IMREAD_COLOR) returned (OpenCV 4.6.0, libjpeg-turbo
// 2.1.5), as the sha256 of the raw BGR bytes; Error is true when OpenCV
// returned no image. It is derived from the shared fixture folder by
// go test -run TestGolden -update, never from this decoder.
type goldenEntry struct {
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Error  bool   `json:"error,omitempty"`
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeGolden(t *testing.T, path string) {
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
	g := map[string]goldenEntry{}
	for _, f := range m.Files {
		if f.Expected == nil {
			g[filepath.Base(f.JPEG)] = goldenEntry{Error: true}
			continue
		}
		want, err := os.ReadFile(filepath.Join(dir, f.Expected.Path))
		if err != nil {
			t.Fatal(err)
		}
		g[filepath.Base(f.JPEG)] = goldenEntry{Width: f.Expected.Shape[1], Height: f.Expected.Shape[0], SHA256: sha(want)}
	}
	// The pipeline inputs with a recorded decode.
	top := filepath.Join(filepath.Dir(dir), "manifest.json")
	var im struct {
		Images []struct {
			File     string                      `json:"file"`
			Decoded  string                      `json:"decoded_bgr_u8"`
			Original struct{ Width, Height int } `json:"original"`
		} `json:"images"`
	}
	raw, err = os.ReadFile(top)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatal(err)
	}
	for _, e := range im.Images {
		if e.Decoded == "" {
			continue
		}
		want, err := os.ReadFile(filepath.Join(filepath.Dir(dir), e.Decoded))
		if err != nil {
			t.Fatal(err)
		}
		g[filepath.Base(e.File)] = goldenEntry{Width: e.Original.Width, Height: e.Original.Height, SHA256: sha(want)}
	}
	out, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGolden decodes every committed JPEG and requires OpenCV's exact bytes
// (via their digest; files with a committed expected/*.bin are also
// compared byte by byte, and a mismatch is written to <name>.got).
func TestGolden(t *testing.T) {
	gpath := filepath.Join(fixtures.Root(t), "testdata", "jpeg", "golden.json")
	if *update {
		writeGolden(t, gpath)
	}
	raw, err := os.ReadFile(fixtures.Testdata(t, "jpeg/golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]goldenEntry
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(g))
	for n := range g {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 50 {
		t.Fatalf("golden.json lists %d files, want at least 50", len(names))
	}
	for _, name := range names {
		e := g[name]
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(fixtures.Testdata(t, "jpeg/images/"+name))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Decode(data)
			if e.Error {
				if err == nil {
					t.Fatalf("got an image, want an error (OpenCV returns none)")
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if img.Width != e.Width || img.Height != e.Height {
				t.Fatalf("size %dx%d, want %dx%d", img.Width, img.Height, e.Width, e.Height)
			}
			w, h, err := DecodeConfig(data)
			if err != nil || w != e.Width || h != e.Height {
				t.Errorf("DecodeConfig = %d, %d, %v; want %d, %d", w, h, err, e.Width, e.Height)
			}
			base := strings.TrimSuffix(name, filepath.Ext(name))
			binPath := filepath.Join(fixtures.Root(t), "testdata", "jpeg", "expected", base+".bgr.bin")
			if want, err := os.ReadFile(binPath); err == nil {
				compareImage(t, img, want, e.Width, e.Height)
			}
			if got := sha(img.Pix); got != e.SHA256 {
				gotPath := filepath.Join(t.TempDir(), base+".got")
				_ = os.WriteFile(gotPath, img.Pix, 0o644)
				t.Errorf("sha256 of pixels = %s, want %s (output written to %s)", got, e.SHA256, gotPath)
			}
		})
	}
}
