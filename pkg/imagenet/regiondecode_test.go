package imagenet

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// TestPipelineDecode: Pipeline.Decode followed by Apply gives the bytes of
// Decode followed by Apply, on every committed test JPEG (all samplings,
// progressive, arithmetic, restarts, CMYK, EXIF orientations, damaged
// files) for MobileOne's test pipeline and for ResizeEdge+CenterCrop sizes
// drawn to each image's size, with every filter; and an image decoded for
// one pipeline is refused by a pipeline that reads more of it. The
// decoded buffers go back to the pool after each Apply, so every file
// after the first is decoded into a used one.
func TestPipelineDecode(t *testing.T) {
	paths := fixtures.TestJPEGs(t)
	rng := rand.New(rand.NewPCG(7, 8))
	partial := 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		full, err := Decode(data)
		if err != nil {
			if _, err2 := mustPipeline(t, testPipeline(256, 224, "bilinear")).Decode(data); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("%s: Decode error %v, Pipeline.Decode error %v", filepath.Base(path), err, err2)
			}
			continue
		}
		w, h := full.Width, full.Height
		pipes := [][]map[string]any{testPipeline(256, 224, "bilinear")}
		for i := 0; i < 4; i++ {
			s := 1 + rng.IntN(min(w, h))
			c := 1 + rng.IntN(s)
			pipes = append(pipes, testPipeline(s, c, []string{"bilinear", "bicubic", "lanczos", "box", "hamming"}[rng.IntN(5)]))
		}
		for _, steps := range pipes {
			p := mustPipeline(t, steps)
			name := fmt.Sprintf("%s %v %v %s", filepath.Base(path), steps[1]["scale"], steps[2]["crop_size"], steps[1]["interpolation"])
			want, err := p.Apply(full.Clone(), nil)
			if err != nil {
				t.Fatal(err)
			}
			img, err := p.Decode(data)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !img.region.Empty() {
				partial++
				// A pipeline with a larger crop reads pixels that were
				// not decoded.
				big := mustPipeline(t, testPipeline(max(w, h)*2, 1<<16, "bilinear"))
				if _, err := big.Apply(img.Clone(), nil); err == nil || !strings.Contains(err.Error(), "decoded for the pixels") {
					r, _ := big.sourceRect(w, h)
					t.Fatalf("%s: a partly decoded image (%v of %dx%d) was accepted by a pipeline reading %v (err %v)", name, img.region, w, h, r, err)
				}
			}
			pooled := img.pool != nil
			got, err := p.Apply(img, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if pooled && got != img && img.Pix != nil {
				t.Fatalf("%s: Apply did not take the decoded buffer back", name)
			}
			diffPixels(t, name, got, want)
			if t.Failed() {
				return
			}
		}
	}
	if partial < 100 {
		t.Fatalf("Pipeline.Decode decoded part of the image only %d times", partial)
	}
}

func testPipeline(scale, crop int, interp string) []map[string]any {
	return []map[string]any{
		{"type": "LoadImageFromFile"},
		{"type": "ResizeEdge", "scale": float64(scale), "edge": "short", "backend": "pillow", "interpolation": interp},
		{"type": "CenterCrop", "crop_size": float64(crop)},
		{"type": "PackInputs"},
	}
}
