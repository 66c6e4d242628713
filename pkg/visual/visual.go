// Package visual draws classification results on images as mmpretrain's
// UniversalVisualizer.visualize_cls does (the pictures of `infer --show-dir`
// and `analyze-results`): the caption text in white monospace at the top
// left, on a half-transparent black box, sized by the image's short edge.
package visual

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"sync"

	"codeberg.org/go-fonts/liberation/liberationmonoregular"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// Label is one class of a caption line: its index, its name (empty when
// the class names are unknown) and, for predictions, its score.
type Label struct {
	Index int
	Class string
	Score float64
}

// ClsCaption is the text visualize_cls draws: "Ground truth: " with one
// "index (class)" line per ground-truth label when gt is not nil, then
// "Prediction: " with one "index, score (class)" line per predicted label
// ("index (class)" without scores when withScore is false); continuation
// lines are indented under the first.
func ClsCaption(gt, pred []Label, withScore bool) string {
	var texts []string
	block := func(prefix string, ls []Label, score bool) {
		lines := make([]string, len(ls))
		for i, l := range ls {
			s := fmt.Sprint(l.Index)
			if score {
				s += fmt.Sprintf(", %.2f", l.Score)
			}
			if l.Class != "" {
				s += " (" + l.Class + ")"
			}
			lines[i] = s
		}
		texts = append(texts, prefix+strings.Join(lines, "\n"+strings.Repeat(" ", len(prefix))))
	}
	if gt != nil {
		block("Ground truth: ", gt, false)
	}
	if pred != nil {
		block("Prediction: ", pred, withScore)
	}
	return strings.Join(texts, "\n")
}

// AdaptiveScale is mmpretrain's get_adaptive_scale: the short edge over
// 224, clamped to [0.3, 3].
func AdaptiveScale(w, h int) float64 {
	return min(max(float64(min(w, h))/224, 0.3), 3)
}

var monoFont = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(liberationmonoregular.TTF) })

// Annotate draws text on img as visualize_cls does: white monospace text
// whose top left is at 5 × the adaptive scale pixels from the corner, of
// int(7 × scale) points at matplotlib's 100 dpi, on a black box of 50%
// opacity padded by 0.3 × the font size (matplotlib's bbox pad). img
// holds BGR pixels (as decoded); the result is a new RGBA picture of the
// same size.
func Annotate(img *imagenet.Image, text string) (*image.RGBA, error) {
	out := image.NewRGBA(image.Rect(0, 0, img.Width, img.Height))
	for i, o := 0, 0; i+2 < len(img.Pix) && o+3 < len(out.Pix); i, o = i+3, o+4 {
		out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = img.Pix[i+2], img.Pix[i+1], img.Pix[i], 255
	}
	f, err := monoFont()
	if err != nil {
		return nil, err
	}
	scale := AdaptiveScale(img.Width, img.Height)
	size := float64(int(7 * scale))
	if size < 1 {
		return out, nil
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 100, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	lines := strings.Split(text, "\n")
	m := face.Metrics()
	lineH := m.Height.Ceil()
	pad := int(0.3*size*100/72 + 0.5)
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

// Rescale is mmcv.imrescale(img, factor) for a float factor, as
// visualize_cls's rescale_factor applies it: the size is w×factor and
// h×factor rounded half up. The pixels are resized with Pillow's bilinear
// filter (imagenet.ResizeImage) where mmcv uses OpenCV's: it only makes a
// picture to look at.
func Rescale(img *imagenet.Image, factor float64) (*imagenet.Image, error) {
	w, h := int(float64(img.Width)*factor+0.5), int(float64(img.Height)*factor+0.5)
	if !(factor > 0) || w < 1 || h < 1 || w > 1<<15 || h > 1<<15 {
		return nil, fmt.Errorf("visual: rescale factor %g turns %dx%d into %dx%d", factor, img.Width, img.Height, w, h)
	}
	return imagenet.ResizeImage(img, w, h), nil
}
