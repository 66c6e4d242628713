// Package plotting draws the project's line charts (training curves from
// `train` and `analyze-logs plot-curve`) into PNG files with gonum/plot.
//
// A figure is a stack of charts sharing one width; each chart has its own
// axes, labels and legend. The look follows what mmpretrain's matplotlib
// figures give: the tab10 colour cycle, seaborn's grid styles, the figure
// size in inches at 100 dpi.
package plotting

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
)

// Curve is one line of a chart. X and Y have the same length; NaN and
// infinite points are left out of the line.
type Curve struct {
	Label string
	X, Y  []float64
}

// Chart is one panel: a title, axis labels and its curves. A legend is
// drawn when any curve has a label.
type Chart struct {
	Title, XLabel, YLabel string
	Curves                []Curve
}

// Style is a seaborn style name, as `--style` of mmpretrain's
// analyze_logs.py takes it.
type Style string

// The seaborn styles.
const (
	WhiteGrid Style = "whitegrid" // white panel, grey grid (analyze_logs.py's default)
	DarkGrid  Style = "darkgrid"  // grey panel, white grid (seaborn's default)
	White     Style = "white"     // white panel, no grid
	Dark      Style = "dark"      // grey panel, no grid
	Ticks     Style = "ticks"     // white panel, no grid, ticks
)

// Styles lists the accepted style names.
var Styles = []Style{WhiteGrid, DarkGrid, White, Dark, Ticks}

// ParseStyle checks a style name.
func ParseStyle(s string) (Style, error) {
	for _, st := range Styles {
		if string(st) == s {
			return st, nil
		}
	}
	names := make([]string, len(Styles))
	for i, st := range Styles {
		names[i] = string(st)
	}
	return "", fmt.Errorf("plotting: unknown style %q (one of %s)", s, strings.Join(names, ", "))
}

// Figure is what WritePNG draws: charts stacked top to bottom.
type Figure struct {
	Charts []Chart
	// Width and Height of the whole figure in inches (matplotlib's figsize).
	Width, Height float64
	// DPI is the pixel density; 0 means 100 (matplotlib's default).
	DPI   int
	Style Style // "" means WhiteGrid
	// Markers draws a dot at every point of curves with fewer than 50
	// points (validation results, which are few).
	Markers bool
}

// tab10 is matplotlib's default colour cycle.
var tab10 = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

// Color returns the i-th colour of the cycle.
func Color(i int) color.RGBA { return tab10[i%len(tab10)] }

var (
	seabornGrey = color.RGBA{0xea, 0xea, 0xf2, 0xff}
	gridGrey    = color.RGBA{0xcc, 0xcc, 0xcc, 0xff}
)

// WritePNG draws the figure into a PNG file, written atomically.
func WritePNG(path string, f Figure) error {
	if len(f.Charts) == 0 {
		return fmt.Errorf("plotting: %s: nothing to plot", path)
	}
	return writePNG(path, func() (*vgimg.Canvas, error) { return Render(f) })
}

// writePNG renders a canvas and writes it as a PNG file, atomically.
func writePNG(path string, render func() (*vgimg.Canvas, error)) error {
	img, err := render()
	if err != nil {
		return fmt.Errorf("plotting: %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
}

// Render draws the figure on an image canvas.
func Render(f Figure) (*vgimg.Canvas, error) {
	if f.Width <= 0 || f.Height <= 0 {
		return nil, fmt.Errorf("figure size %gx%g inches is not positive", f.Width, f.Height)
	}
	dpi := f.DPI
	if dpi == 0 {
		dpi = 100
	}
	style := f.Style
	if style == "" {
		style = WhiteGrid
	}
	rows := make([][]*plot.Plot, len(f.Charts))
	for i, ch := range f.Charts {
		p, err := chartPlot(ch, style, f.Markers)
		if err != nil {
			return nil, err
		}
		rows[i] = []*plot.Plot{p}
	}
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(f.Width)*vg.Inch, vg.Length(f.Height)*vg.Inch),
		vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(rows), Cols: 1,
		PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 6}
	canvases := plot.Align(rows, t, dc)
	for i := range rows {
		rows[i][0].Draw(canvases[i][0])
	}
	return img, nil
}

func chartPlot(ch Chart, style Style, markers bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = ch.Title, ch.XLabel, ch.YLabel
	p.Title.TextStyle.Font = sans(13)
	p.X.Label.TextStyle.Font, p.Y.Label.TextStyle.Font = sans(11), sans(11)
	p.X.Tick.Label.Font, p.Y.Tick.Label.Font = sans(9.5), sans(9.5)
	p.Legend.TextStyle.Font = sans(10)
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{}
	if n := maxPoints(ch.Curves); markers && n >= 50 {
		markers = false // a dense curve in the panel: lines only
	}
	if style == DarkGrid || style == Dark {
		p.Add(panelFill{seabornGrey})
	}
	switch style {
	case WhiteGrid:
		g := plotter.NewGrid()
		g.Vertical.Color, g.Horizontal.Color = gridGrey, gridGrey
		g.Vertical.Width, g.Horizontal.Width = vg.Points(0.6), vg.Points(0.6)
		p.Add(g)
	case DarkGrid:
		g := plotter.NewGrid()
		g.Vertical.Color, g.Horizontal.Color = color.White, color.White
		g.Vertical.Width, g.Horizontal.Width = vg.Points(0.9), vg.Points(0.9)
		p.Add(g)
	}
	var legend []int
	for i, c := range ch.Curves {
		if len(c.X) != len(c.Y) {
			return nil, fmt.Errorf("curve %q: %d x values for %d y values", c.Label, len(c.X), len(c.Y))
		}
		pts := make(plotter.XYs, 0, len(c.X))
		for j := range c.X {
			if finite(c.X[j]) && finite(c.Y[j]) {
				pts = append(pts, plotter.XY{X: c.X[j], Y: c.Y[j]})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("curve %q: %w", c.Label, err)
		}
		l.Color = Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		thumbs := []plot.Thumbnailer{l}
		if markers {
			s, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, fmt.Errorf("curve %q: %w", c.Label, err)
			}
			s.GlyphStyle.Color = Color(i)
			s.GlyphStyle.Shape = draw.CircleGlyph{}
			s.GlyphStyle.Radius = vg.Points(2.5)
			p.Add(s)
			thumbs = append(thumbs, s)
		}
		if c.Label != "" {
			p.Legend.Add(c.Label, thumbs...)
			legend = append(legend, i)
		}
	}
	if len(legend) > 0 {
		placeLegend(p, ch.Curves)
	}
	return p, nil
}

// placeLegend puts the legend in the corner of the panel that the curves
// cross least (matplotlib's loc="best", by quadrant).
func placeLegend(p *plot.Plot, curves []Curve) {
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for j := range c.X {
			if finite(c.X[j]) && finite(c.Y[j]) {
				x0, x1 = math.Min(x0, c.X[j]), math.Max(x1, c.X[j])
				y0, y1 = math.Min(y0, c.Y[j]), math.Max(y1, c.Y[j])
			}
		}
	}
	// corners in order of preference: top right, bottom right, top left, bottom left
	type corner struct{ top, left bool }
	corners := []corner{{true, false}, {false, false}, {true, true}, {false, true}}
	load := make([]float64, len(corners))
	for _, c := range curves {
		n := 0
		counts := make([]float64, len(corners))
		for j := range c.X {
			if !finite(c.X[j]) || !finite(c.Y[j]) {
				continue
			}
			n++
			fx, fy := frac(c.X[j], x0, x1), frac(c.Y[j], y0, y1)
			for k, cn := range corners {
				inX := fx >= 0.55 && !cn.left || fx <= 0.45 && cn.left
				inY := fy >= 0.6 && cn.top || fy <= 0.4 && !cn.top
				if inX && inY {
					counts[k]++
				}
			}
		}
		for k := range counts {
			if n > 0 {
				load[k] += counts[k] / float64(n)
			}
		}
	}
	best := 0
	for k := range load {
		if load[k] < load[best] {
			best = k
		}
	}
	p.Legend.Top, p.Legend.Left = corners[best].top, corners[best].left
	p.Legend.Padding = vg.Points(3)
	p.Legend.XOffs = vg.Points(-6)
	if corners[best].left {
		p.Legend.XOffs = vg.Points(6)
	}
	p.Legend.YOffs = vg.Points(-6)
	if !corners[best].top {
		p.Legend.YOffs = vg.Points(6)
	}
}

func sans(size float64) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
}

func maxPoints(cs []Curve) int {
	n := 0
	for _, c := range cs {
		n = max(n, len(c.X))
	}
	return n
}

// niceTicks labels an axis at 1, 2, 2.5 or 5 times a power of ten, with
// about eight intervals (matplotlib's MaxNLocator), and puts one unlabelled
// minor tick between labels.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 8
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if m := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9)); math.Abs(m-2.5) < 1e-9 {
		prec++
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step-1e-9) * step
	for v := first; v <= hi+step*1e-9; v += step {
		x := math.Round(v/step)*step + 0 // + 0: no "-0" label
		ticks = append(ticks, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', prec, 64)})
		if minor := x + step/2; minor < hi {
			ticks = append(ticks, plot.Tick{Value: minor})
		}
	}
	if minor := first - step/2; minor > lo {
		ticks = append(ticks, plot.Tick{Value: minor})
	}
	return ticks
}

func frac(v, lo, hi float64) float64 {
	if hi <= lo {
		return 0.5
	}
	return (v - lo) / (hi - lo)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// panelFill paints the data area of a panel (seaborn's grey background).
type panelFill struct{ c color.Color }

func (f panelFill) Plot(c draw.Canvas, _ *plot.Plot) {
	c.SetColor(f.c)
	r := c.Rectangle
	var p vg.Path
	p.Move(r.Min)
	p.Line(vg.Point{X: r.Max.X, Y: r.Min.Y})
	p.Line(r.Max)
	p.Line(vg.Point{X: r.Min.X, Y: r.Max.Y})
	p.Close()
	c.Fill(p)
}
