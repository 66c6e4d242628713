package train

import (
	"io"

	"github.com/mobileone-go/mobileone/internal/atomicfile"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// history keeps the logged curves for the plot.
type history struct {
	series map[string]plotter.XYs
}

func (h *history) add(name string, x int, y float64) {
	if h.series == nil {
		h.series = map[string]plotter.XYs{}
	}
	h.series[name] = append(h.series[name], plotter.XY{X: float64(x), Y: y})
}

// plot writes loss, lr and validation top-1 as three stacked panels into a
// PNG (written to a temporary file and renamed).
func (h *history) plot(path string, byEpoch bool, epochLen int) error {
	panels := []struct{ key, title, x, y string }{
		{"loss", "training loss", "iteration", "loss"},
		{"lr", "learning rate", "iteration", "lr"},
		{"top1", "validation accuracy (top-1)", "epoch", "accuracy/top1 (%)"},
	}
	if !byEpoch {
		panels[2].x = "iteration"
	}
	plots := make([][]*plot.Plot, len(panels))
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text, p.X.Label.Text, p.Y.Label.Text = pn.title, pn.x, pn.y
		if pts := h.series[pn.key]; len(pts) > 0 {
			l, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			p.Add(l)
			if len(pts) < 50 {
				s, err := plotter.NewScatter(pts)
				if err == nil {
					p.Add(s)
				}
			}
		}
		plots[i] = []*plot.Plot{p}
	}
	img := vgimg.New(vg.Points(640), vg.Points(900))
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
}
