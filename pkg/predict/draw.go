package predict

import (
	"image"
	"image/png"
	"io"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/visual"
)

// Caption is the text mmpretrain's UniversalVisualizer.visualize_cls draws
// for a prediction (draw_gt=False, draw_score=True): "Prediction: " and
// one "label, score (class)" line per top-k class, aligned under the first.
func Caption(r Result) string {
	labels := make([]visual.Label, len(r.TopK))
	for i, c := range r.TopK {
		labels[i] = visual.Label{Index: c.Label, Class: c.Class, Score: float64(c.Score)}
	}
	return visual.ClsCaption(nil, labels, true)
}

// Annotate draws r's caption on img as visualize_cls does (visual.Annotate).
// It returns a new RGBA picture; img is not changed.
func Annotate(img *imagenet.Image, r Result) (*image.RGBA, error) {
	return visual.Annotate(img, Caption(r))
}

// WritePNG writes an annotated picture as PNG.
func WritePNG(w io.Writer, img image.Image) error { return png.Encode(w, img) }
