package train

import (
	"github.com/mobileone-go/mobileone/pkg/plotting"
)

// history keeps the logged curves for the plot.
type history struct {
	series map[string]*plotting.Curve
}

func (h *history) add(name string, x int, y float64) {
	if h.series == nil {
		h.series = map[string]*plotting.Curve{}
	}
	c := h.series[name]
	if c == nil {
		c = &plotting.Curve{}
		h.series[name] = c
	}
	c.X, c.Y = append(c.X, float64(x)), append(c.Y, y)
}

// plot writes loss, lr and validation top-1 as three stacked panels into a
// PNG (written atomically).
func (h *history) plot(path string, byEpoch bool) error {
	panels := []struct{ key, title, x, y string }{
		{"loss", "training loss", "iteration", "loss"},
		{"lr", "learning rate", "iteration", "lr"},
		{"top1", "validation accuracy (top-1)", "epoch", "accuracy/top1 (%)"},
	}
	if !byEpoch {
		panels[2].x = "iteration"
	}
	fig := plotting.Figure{Width: 8, Height: 11, Markers: true}
	for _, pn := range panels {
		ch := plotting.Chart{Title: pn.title, XLabel: pn.x, YLabel: pn.y}
		if c := h.series[pn.key]; c != nil {
			ch.Curves = []plotting.Curve{*c}
		}
		fig.Charts = append(fig.Charts, ch)
	}
	return plotting.WritePNG(path, fig)
}
