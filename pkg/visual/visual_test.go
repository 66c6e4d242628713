package visual

import (
	"testing"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// TestClsCaption: the text of UniversalVisualizer.visualize_cls (mmpretrain
// ee7f2e8, mmpretrain/visualization/visualizer.py): "Ground truth: " and
// "Prediction: " blocks, score with two decimals, class names in
// parentheses, further labels indented under the first.
func TestClsCaption(t *testing.T) {
	for _, tc := range []struct {
		gt, pred []Label
		score    bool
		want     string
	}{
		{[]Label{{Index: 9, Class: "9_ankle_boot"}}, []Label{{Index: 0, Class: "0_tshirt_top", Score: 0.1}}, true,
			"Ground truth: 9 (9_ankle_boot)\nPrediction: 0, 0.10 (0_tshirt_top)"},
		{nil, []Label{{Index: 281, Class: "tabby, tabby cat", Score: 0.52345}, {Index: 285, Class: "Egyptian cat", Score: 0.2}}, true,
			"Prediction: 281, 0.52 (tabby, tabby cat)\n            285, 0.20 (Egyptian cat)"},
		{[]Label{{Index: 3}}, []Label{{Index: 3, Score: 0.999}}, false, "Ground truth: 3\nPrediction: 3"},
	} {
		if got := ClsCaption(tc.gt, tc.pred, tc.score); got != tc.want {
			t.Errorf("got %q\nwant %q", got, tc.want)
		}
	}
}

func TestAdaptiveScale(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		want float64
	}{{28, 28, 0.3}, {112, 300, 0.5}, {448, 224, 1}, {2000, 1000, 3}} {
		if got := AdaptiveScale(tc.w, tc.h); got != tc.want {
			t.Errorf("%dx%d: %g, want %g", tc.w, tc.h, got, tc.want)
		}
	}
}

// TestAnnotate: the picture keeps the image outside the text box (BGR
// turned into RGB), and the box holds dimmed pixels and white text.
func TestAnnotate(t *testing.T) {
	img := imagenet.NewImage(224, 224)
	for i := 0; i < len(img.Pix); i += 3 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 10, 120, 250 // B, G, R
	}
	out, err := Annotate(img, "Ground truth: 3 (3_dress)\nPrediction: 3, 0.94 (3_dress)")
	if err != nil {
		t.Fatal(err)
	}
	if out.Bounds() != img.Bounds() {
		t.Fatalf("bounds %v", out.Bounds())
	}
	if c := out.RGBAAt(200, 200); c.R != 250 || c.G != 120 || c.B != 10 {
		t.Errorf("pixel outside the box = %v, want the image's (250,120,10)", c)
	}
	// scale 1: the box starts at (5, 5); its first pixels are the image
	// under 50% black
	if c := out.RGBAAt(6, 6); c.R < 120 || c.R > 130 || c.B > 10 {
		t.Errorf("pixel in the box = %v, want about (125,60,5)", c)
	}
	white := 0
	for y := 5; y < 40; y++ {
		for x := 5; x < 200; x++ {
			if c := out.RGBAAt(x, y); c.G > 150 && c.B > 100 { // the box is about (125,60,5): these are text
				white++
			}
		}
	}
	if white < 100 {
		t.Errorf("%d text pixels, want the caption drawn", white)
	}
}

// TestRescale: mmcv.imrescale's sizes, int(size × factor + 0.5).
func TestRescale(t *testing.T) {
	for _, tc := range []struct {
		w, h   int
		factor float64
		ow, oh int
	}{{28, 28, 8, 224, 224}, {5, 3, 1.5, 8, 5}, {100, 41, 0.5, 50, 21}} {
		out, err := Rescale(imagenet.NewImage(tc.w, tc.h), tc.factor)
		if err != nil {
			t.Fatal(err)
		}
		if out.Width != tc.ow || out.Height != tc.oh {
			t.Errorf("%dx%d × %g = %dx%d, want %dx%d", tc.w, tc.h, tc.factor, out.Width, out.Height, tc.ow, tc.oh)
		}
	}
	for _, f := range []float64{0, -1, 0.001, 1e6} {
		if _, err := Rescale(imagenet.NewImage(28, 28), f); err == nil {
			t.Errorf("factor %g: no error", f)
		}
	}
}
