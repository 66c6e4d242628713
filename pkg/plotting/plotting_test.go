package plotting

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

func rising(n int) Curve {
	c := Curve{Label: "accuracy/top1"}
	for i := 0; i < n; i++ {
		c.X = append(c.X, float64(i+1))
		c.Y = append(c.Y, 100*float64(i+1)/float64(n))
	}
	return c
}

func falling(n int) Curve {
	c := Curve{Label: "loss"}
	for i := 0; i < n; i++ {
		c.X = append(c.X, float64(i))
		c.Y = append(c.Y, 2/float64(i+1))
	}
	return c
}

// readPNG decodes a written figure.
func countColour(img image.Image, want color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(bl>>8) == want.B {
				n++
			}
		}
	}
	return n
}

func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "curves.png")
	fig := Figure{Width: 12, Height: 7, Markers: true, Charts: []Chart{
		{Title: "run", XLabel: "Epochs", YLabel: "loss", Curves: []Curve{falling(200)}},
		{XLabel: "Steps", YLabel: "accuracy/top1", Curves: []Curve{rising(10), {Label: "other", X: []float64{1, 5, 10}, Y: []float64{10, 50, 70}}}},
	}}
	if err := WritePNG(path, fig); err != nil {
		t.Fatal(err)
	}
	img := fixtures.ReadPNG(t, path)
	// 12x7 inches at matplotlib's 100 dpi
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 700 {
		t.Fatalf("size %v, want 1200x700", b)
	}
	// each curve is drawn in its colour of the cycle, and the background is
	// white: more than a few colours, the first two of tab10 among them
	if n := countColour(img, Color(0)); n < 500 {
		t.Errorf("%d pixels of the first curve colour, want many", n)
	}
	if n := countColour(img, Color(1)); n < 100 {
		t.Errorf("%d pixels of the second curve colour, want many", n)
	}
	if n := countColour(img, color.RGBA{255, 255, 255, 255}); n < 1200*700/2 {
		t.Errorf("%d white pixels, want the background to be white", n)
	}
}

func TestStyles(t *testing.T) {
	dir := t.TempDir()
	for _, st := range Styles {
		p := filepath.Join(dir, string(st)+".png")
		if err := WritePNG(p, Figure{Width: 4, Height: 3, Style: st, Charts: []Chart{{Curves: []Curve{falling(20)}}}}); err != nil {
			t.Fatal(err)
		}
		grey := countColour(fixtures.ReadPNG(t, p), seabornGrey)
		if dark := st == Dark || st == DarkGrid; dark != (grey > 10000) {
			t.Errorf("%s: %d pixels of seaborn's grey panel", st, grey)
		}
	}
	if _, err := ParseStyle("ggplot"); err == nil || !strings.Contains(err.Error(), "whitegrid, darkgrid, white, dark, ticks") {
		t.Errorf("ParseStyle(ggplot) = %v", err)
	}
}

func TestBadFigures(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.png")
	for _, f := range []Figure{
		{Width: 4, Height: 3},
		{Width: 0, Height: 3, Charts: []Chart{{}}},
		{Width: 4, Height: 3, Charts: []Chart{{Curves: []Curve{{X: []float64{1}, Y: nil}}}}},
	} {
		if err := WritePNG(p, f); err == nil {
			t.Errorf("%+v: no error", f)
		}
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%+v: a file was written despite the error", f)
		}
	}
}

// TestLegendPlacement: the legend goes where the curves are not, top right
// for a falling loss, bottom right for a rising accuracy.
func TestLegendPlacement(t *testing.T) {
	for _, tc := range []struct {
		c         Curve
		top, left bool
	}{{falling(100), true, false}, {rising(20), false, false}} {
		p := plot.New()
		placeLegend(p, []Curve{tc.c})
		if p.Legend.Top != tc.top || p.Legend.Left != tc.left {
			t.Errorf("%s: legend top=%v left=%v, want %v %v", tc.c.Label, p.Legend.Top, p.Legend.Left, tc.top, tc.left)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{1, 20, "2.5 5.0 7.5 10.0 12.5 15.0 17.5 20.0"},
		{0.62, 2.2, "0.8 1.0 1.2 1.4 1.6 1.8 2.0 2.2"},
		{17, 84, "20 30 40 50 60 70 80"},
		{-1e-6, 1e-4, "0.00000 0.00002 0.00004 0.00006 0.00008 0.00010"},
	} {
		var labels []string
		for _, tk := range (niceTicks{}).Ticks(tc.lo, tc.hi) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("[%g, %g]: %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}
