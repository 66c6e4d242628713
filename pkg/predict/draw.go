package predict

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"strings"
	"sync"

	"codeberg.org/go-fonts/liberation/liberationmonoregular"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// Caption is the text mmpretrain's UniversalVisualizer.visualize_cls draws
// for a prediction (draw_gt=False, draw_score=True): "Prediction: " and
// one "label, score (class)" line per top-k class, aligned under the first.
func Caption(r Result) string {
	const prefix = "Prediction: "
	lines := make([]string, len(r.TopK))
	for i, c := range r.TopK {
		lines[i] = fmt.Sprintf("%d, %.2f (%s)", c.Label, c.Score, c.Class)
	}
	return prefix + strings.Join(lines, "\n"+strings.Repeat(" ", len(prefix)))
}

// adaptiveScale is mmpretrain's get_adaptive_scale: the short edge over
// 224, clamped to [0.3, 3].
func adaptiveScale(w, h int) float64 {
	return min(max(float64(min(w, h))/224, 0.3), 3)
}

var monoFace = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(liberationmonoregular.TTF) })

// Annotate draws r's caption on img as visualize_cls does: white monospace
// text at the top-left (offset 5 × the adaptive scale), font size 7 × the
// scale in points at matplotlib's 100 dpi, on a black box of 50% opacity.
// It returns a new RGBA picture; img is not changed.
func Annotate(img *imagenet.Image, r Result) (*image.RGBA, error) {
	out := image.NewRGBA(image.Rect(0, 0, img.Width, img.Height))
	for i, o := 0, 0; i < len(img.Pix); i, o = i+3, o+4 {
		out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = img.Pix[i+2], img.Pix[i+1], img.Pix[i], 255
	}
	f, err := monoFace()
	if err != nil {
		return nil, err
	}
	scale := adaptiveScale(img.Width, img.Height)
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 7 * scale, DPI: 100, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	lines := strings.Split(Caption(r), "\n")
	m := face.Metrics()
	lineH := m.Height.Ceil()
	pad := int(3 * scale) // matplotlib's bbox pad (0.3 × the font size)
	textW := 0
	for _, l := range lines {
		textW = max(textW, font.MeasureString(face, l).Ceil())
	}
	x0, y0 := int(5*scale), int(5*scale)
	box := image.Rect(x0, y0, x0+textW+2*pad, y0+lineH*len(lines)+2*pad).Intersect(out.Bounds())
	draw.Draw(out, box, &image.Uniform{color.NRGBA{0, 0, 0, 128}}, image.Point{}, draw.Over)
	d := &font.Drawer{Dst: out, Src: image.White, Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(x0+pad, y0+pad+i*lineH+m.Ascent.Ceil())
		d.DrawString(l)
	}
	return out, nil
}

// WritePNG writes an annotated picture as PNG.
func WritePNG(w io.Writer, img image.Image) error { return png.Encode(w, img) }
