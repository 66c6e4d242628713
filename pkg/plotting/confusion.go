package plotting

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// ConfusionFigure is what mmpretrain's ConfusionMatrix.plot draws: the
// matrix as an image (rows: true label, top to bottom; columns: predicted
// label), class names on both axes, a colour bar, and with IncludeValues
// the count in each cell, light on dark cells and dark on light ones.
type ConfusionFigure struct {
	Matrix        [][]int64
	Classes       []string // nil: the class indices
	IncludeValues bool
	Cmap          Colormap
	// Size is the figure's width and height in inches; 0 means 10
	// (upstream's figsize=(10, 10)), at 100 dpi.
	Size float64
}

// maxTickLabels is the most class names written along an axis; with more
// classes every k-th is named so that the names stay readable.
const maxTickLabels = 30

// MaxValueClasses is the most classes whose counts IncludeValues writes
// (n² numbers: beyond this they cannot be read).
const MaxValueClasses = 60

// WriteConfusionPNG draws the figure into a PNG file, written atomically.
func WriteConfusionPNG(path string, f ConfusionFigure) error {
	return writePNG(path, func() (*vgimg.Canvas, error) { return RenderConfusion(f) })
}

// RenderConfusion draws the figure on an image canvas.
func RenderConfusion(f ConfusionFigure) (*vgimg.Canvas, error) {
	n := len(f.Matrix)
	if n == 0 {
		return nil, fmt.Errorf("empty confusion matrix")
	}
	for i, r := range f.Matrix {
		if len(r) != n {
			return nil, fmt.Errorf("confusion matrix row %d has %d values, want %d", i, len(r), n)
		}
	}
	if f.Classes != nil && len(f.Classes) != n {
		return nil, fmt.Errorf("%d class names for a %dx%d matrix", len(f.Classes), n, n)
	}
	if f.IncludeValues && n > MaxValueClasses {
		return nil, fmt.Errorf("the values of a %dx%d matrix cannot be read: include them with up to %d classes", n, n, MaxValueClasses)
	}
	if f.Cmap.name == "" {
		f.Cmap, _ = ParseColormap("viridis")
	}
	size := f.Size
	if size <= 0 {
		size = 10
	}
	lo, hi := f.Matrix[0][0], f.Matrix[0][0]
	for _, r := range f.Matrix {
		for _, v := range r {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	norm := func(v int64) float64 {
		if hi == lo {
			return 0
		}
		return float64(v-lo) / float64(hi-lo)
	}
	name := func(i int) string {
		if f.Classes == nil {
			return strconv.Itoa(i)
		}
		// ImageNet's names list synonyms ("tench, Tinca tinca"): the
		// first one keeps the axis readable.
		s, _, _ := strings.Cut(f.Classes[i], ", ")
		if r := []rune(s); len(r) > 24 {
			s = string(r[:23]) + "…"
		}
		return s
	}

	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = "Predicted label", "True label"
	p.X.Label.TextStyle.Font, p.Y.Label.TextStyle.Font = sans(12), sans(12)
	tickFont := sans(10)
	if n > 20 {
		tickFont = sans(8)
	}
	p.X.Tick.Label.Font, p.Y.Tick.Label.Font = tickFont, tickFont
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5, -0.5, float64(n)-0.5
	step := (n + maxTickLabels - 1) / maxTickLabels
	var xt, yt []plot.Tick
	for i := 0; i < n; i += step {
		xt = append(xt, plot.Tick{Value: float64(i), Label: name(i)})
		// true label i is drawn in row n-1-i from the bottom (top first)
		yt = append(yt, plot.Tick{Value: float64(n - 1 - i), Label: name(i)})
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)

	// The cells as an image, k pixels a side (nearest neighbour), so that
	// the canvas's scaling does not blur one cell into the next.
	k := max(1, min(1000/n, 4096/n))
	raster := image.NewRGBA(image.Rect(0, 0, n*k, n*k))
	for r, row := range f.Matrix {
		for c, v := range row {
			col := f.Cmap.At(norm(v))
			for y := r * k; y < (r+1)*k; y++ {
				for x := c * k; x < (c+1)*k; x++ {
					raster.SetRGBA(x, y, col)
				}
			}
		}
	}
	p.Add(plotter.NewImage(raster, -0.5, -0.5, float64(n)-0.5, float64(n)-0.5))

	if f.IncludeValues {
		thresh := float64(hi+lo) / 2
		dark, light := f.Cmap.At(0), f.Cmap.At(1)
		var xys plotter.XYs
		var texts []string
		var styles []text.Style
		for r, row := range f.Matrix {
			for c, v := range row {
				xys = append(xys, plotter.XY{X: float64(c), Y: float64(n - 1 - r)})
				texts = append(texts, cellText(v))
				st := text.Style{Font: sans(max(6, min(12, 300/float64(n)))), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
				st.Color = color.Color(light)
				if float64(v) >= thresh {
					st.Color = dark
				}
				styles = append(styles, st)
			}
		}
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
		if err != nil {
			return nil, err
		}
		labels.TextStyle = styles
		p.Add(labels)
	}

	dpi := 100
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(size)*vg.Inch, vg.Length(size)*vg.Inch), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	pad := vg.Inch / 4
	barW, barGap, barLabels := vg.Inch/4, vg.Inch/4, vg.Inch*3/4
	mainC := draw.Crop(dc, pad, -(pad + barGap + barW + barLabels), pad, -pad)
	// Square cells: shrink the area until the data area is square.
	da := p.DataCanvas(mainC)
	if w, h := da.Max.X-da.Min.X, da.Max.Y-da.Min.Y; w > h {
		mainC = draw.Crop(mainC, 0, -(w - h), 0, 0)
	} else if h > w {
		mainC = draw.Crop(mainC, 0, 0, (h-w)/2, -(h-w)/2)
	}
	p.Draw(mainC)
	da = p.DataCanvas(mainC)
	drawColorBar(dc, da, mainC.Max.X+barGap, barW, f.Cmap, float64(lo), float64(hi))
	return img, nil
}

// cellText formats a count as upstream does: format(v, '.2g') unless
// format(v, 'd') is shorter.
func cellText(v int64) string {
	g := strconv.FormatFloat(float64(v), 'g', 2, 64)
	if d := strconv.FormatInt(v, 10); len(d) < len(g) {
		return d
	}
	return g
}

// drawColorBar draws the colour bar beside the data area da, from x, w
// wide, with nice ticks on its right.
func drawColorBar(c draw.Canvas, da draw.Canvas, x, w vg.Length, cm Colormap, lo, hi float64) {
	y0, y1 := da.Min.Y, da.Max.Y
	const steps = 256
	for i := 0; i < steps; i++ {
		ya := y0 + (y1-y0)*vg.Length(i)/steps
		yb := y0 + (y1-y0)*vg.Length(i+1)/steps
		c.FillPolygon(cm.At((float64(i)+0.5)/steps), []vg.Point{{X: x, Y: ya}, {X: x + w, Y: ya}, {X: x + w, Y: yb + 0.5}, {X: x, Y: yb + 0.5}})
	}
	outline := draw.LineStyle{Color: color.Black, Width: vg.Points(0.6)}
	c.StrokeLines(outline, []vg.Point{{X: x, Y: y0}, {X: x + w, Y: y0}, {X: x + w, Y: y1}, {X: x, Y: y1}, {X: x, Y: y0}})
	if hi == lo {
		hi = lo + 1
	}
	st := text.Style{Font: sans(9), Color: color.Black, XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	for _, t := range (niceTicks{}).Ticks(lo, hi) {
		if t.Label == "" || t.Value < lo || t.Value > hi {
			continue
		}
		y := y0 + (y1-y0)*vg.Length((t.Value-lo)/(hi-lo))
		c.StrokeLine2(outline, x+w, y, x+w+vg.Points(3), y)
		c.FillText(st, vg.Point{X: x + w + vg.Points(5), Y: y}, t.Label)
	}
}
