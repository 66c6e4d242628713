package imagenet

import (
	"fmt"
	"image"
	"math"
	"sync"
)

// precisionBits is Pillow's PRECISION_BITS for 8-bit resampling
// (32 - 8 - 2: room for an 8-bit sample times a weight, plus headroom).
const precisionBits = 22

// Filter is one of Pillow's resampling filters: a kernel At(x) of support
// Support (in source pixels at scale 1), as in src/libImaging/Resample.c.
type Filter struct {
	Name    string
	Support float64
	At      func(x float64) float64
}

// Pillow's filters (Image.Resampling). Bilinear is what every MobileOne
// config uses ("bilinear" in mmcv's pillow_interp_codes).
var (
	Box = &Filter{"box", 0.5, func(x float64) float64 {
		if x > -0.5 && x <= 0.5 {
			return 1
		}
		return 0
	}}
	Bilinear = &Filter{"bilinear", 1, func(x float64) float64 {
		if x < 0 {
			x = -x
		}
		if x < 1 {
			return 1 - x
		}
		return 0
	}}
	Hamming = &Filter{"hamming", 1, func(x float64) float64 {
		if x < 0 {
			x = -x
		}
		if x == 0 {
			return 1
		}
		if x >= 1 {
			return 0
		}
		x *= math.Pi
		return math.Sin(x) / x * (0.54 + 0.46*math.Cos(x))
	}}
	Bicubic = &Filter{"bicubic", 2, func(x float64) float64 {
		const a = -0.5
		if x < 0 {
			x = -x
		}
		if x < 1 {
			return ((a+2)*x-(a+3))*x*x + 1
		}
		if x < 2 {
			return (((x-5)*x+8)*x - 4) * a
		}
		return 0
	}}
	Lanczos = &Filter{"lanczos", 3, func(x float64) float64 {
		if x > -3 && x < 3 {
			return sinc(x) * sinc(x/3)
		}
		return 0
	}}
)

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

// filterByName maps mmcv's interpolation names for the pillow backend.
func filterByName(name string) (*Filter, error) {
	switch name {
	case "bilinear":
		return Bilinear, nil
	case "bicubic":
		return Bicubic, nil
	case "box":
		return Box, nil
	case "hamming":
		return Hamming, nil
	case "lanczos":
		return Lanczos, nil
	}
	return nil, UnsupportedError(fmt.Sprintf("interpolation %q with the pillow backend", name))
}

// axisPlan holds one axis's fixed-point coefficients: for output o, the
// taps start at bounds[2o] and number bounds[2o+1]; weights are
// kk[o*ksize : o*ksize+bounds[2o+1]].
type axisPlan struct {
	ksize  int
	bounds []int
	kk     []int32
}

// newAxisPlan is Pillow's precompute_coeffs followed by
// normalize_coeffs_8bpc for the box (0, in) of an in-sample axis.
func newAxisPlan(f *Filter, in, out int) axisPlan {
	scale := float64(in) / float64(out)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := f.Support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	p := axisPlan{ksize: ksize, bounds: make([]int, 2*out), kk: make([]int32, out*ksize)}
	k := make([]float64, ksize)
	ss := 1 / filterscale
	for o := 0; o < out; o++ {
		center := (float64(o) + 0.5) * scale
		xmin := int(center - support + 0.5) // C (int) truncation; operand >= -0.5
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > in {
			xmax = in
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w := f.At((float64(x+xmin) - center + 0.5) * ss)
			k[x] = w
			ww += w
		}
		for x := 0; x < xmax; x++ {
			if ww != 0 {
				k[x] /= ww
			}
			if k[x] < 0 {
				p.kk[o*ksize+x] = int32(-0.5 + k[x]*(1<<precisionBits))
			} else {
				p.kk[o*ksize+x] = int32(0.5 + k[x]*(1<<precisionBits))
			}
		}
		p.bounds[2*o], p.bounds[2*o+1] = xmin, xmax
	}
	return p
}

// clip8 is Pillow's clip8: arithmetic shift out of fixed point, then clamp.
func clip8(v int32) byte {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// Resizer resizes srcW×srcH images to dstW×dstH exactly as Pillow's
// Image.resize does for 8-bit 3-channel images (ImagingResample): separable
// fixed-point passes, horizontal first and only on the source rows the
// vertical pass reads, with a uint8 intermediate. A pass whose size does
// not change is skipped; if neither changes the image is copied.
//
// A Resizer made by NewCropResizer computes only a window of the resized
// image (resize then crop): every output sample of Pillow's separable
// resample depends only on its own row's and column's coefficients, so the
// window's bytes equal those of the full resize, cropped.
//
// The plan is built once per shape (like x/image/draw's NewScaler) and is
// safe for concurrent use; scratch buffers come from a pool, so
// steady-state resizing does not allocate.
type Resizer struct {
	dw, dh, sw, sh int
	win            image.Rectangle // the part of the dw×dh result produced
	needH, needV   bool
	h              hplan
	v              axisPlan        // the window's rows; bounds relative to the vertical pass's input
	yFirst, yLast  int             // source rows [yFirst, yLast) feed the vertical pass
	src            image.Rectangle // SourceRect
}

// hplan is the horizontal pass's plan for the window's columns: output
// column i reads exactly taps source pixels starting at byte offset off[i]
// with weights w[i*taps : (i+1)*taps]. Pillow's windows shorter than taps
// are padded with zero weights (moved left at the right edge so that reads
// stay inside the row); a zero weight adds exactly 0 to the integer sums,
// so the result is Pillow's, with a fixed tap count the loops can unroll.
type hplan struct {
	taps   int
	off    []int
	w      []int32
	noClip bool   // sumsFitByte for every output
	wide   *hwide // the AVX2 kernels' layout, nil without them
}

// sumsFitByte reports whether every sum half + Σ v*k[i] over bytes v lies
// in [0, 256<<precisionBits), so that clip8 reduces to a shift: all weights
// non-negative (bilinear, box and hamming; not bicubic or lanczos) and
// 255*Σk + half below 256<<precisionBits.
func sumsFitByte(k []int32) bool {
	sum := int64(0)
	for _, w := range k {
		if w < 0 {
			return false
		}
		sum += int64(w)
	}
	return 255*sum+int64(half) < 256<<precisionBits
}

func newHPlan(p axisPlan, x0, x1, in int) hplan {
	taps := 1
	for o := x0; o < x1; o++ {
		taps = max(taps, p.bounds[2*o+1])
	}
	hp := hplan{taps: taps, off: make([]int, x1-x0), w: make([]int32, (x1-x0)*taps)}
	for i := range hp.off {
		o := x0 + i
		xmin, n := p.bounds[2*o], p.bounds[2*o+1]
		start := min(xmin, in-taps) // taps <= in: every window lies inside the row
		hp.off[i] = 3 * start
		copy(hp.w[i*taps+xmin-start:], p.kk[o*p.ksize:o*p.ksize+n])
	}
	hp.noClip = true
	for i := range hp.off {
		hp.noClip = hp.noClip && sumsFitByte(hp.w[i*taps:(i+1)*taps])
	}
	return hp
}

// NewResizer returns a Pillow-bilinear (antialiased) Resizer.
func NewResizer(dstW, dstH, srcW, srcH int) *Resizer {
	return Bilinear.NewResizer(dstW, dstH, srcW, srcH)
}

// NewResizer returns a Resizer using filter f.
func (f *Filter) NewResizer(dstW, dstH, srcW, srcH int) *Resizer {
	return f.NewCropResizer(dstW, dstH, srcW, srcH, image.Rect(0, 0, dstW, dstH))
}

// NewCropResizer returns a Resizer whose output is the crop rectangle of
// the dstW×dstH resize of a srcW×srcH image, computing only that window:
// the same bytes as resizing and then cropping, with less work. crop must
// be non-empty and lie inside (0, 0)-(dstW, dstH).
func (f *Filter) NewCropResizer(dstW, dstH, srcW, srcH int, crop image.Rectangle) *Resizer {
	if dstW <= 0 || dstH <= 0 || srcW <= 0 || srcH <= 0 {
		panic(fmt.Sprintf("imagenet: bad resize %dx%d -> %dx%d", srcW, srcH, dstW, dstH))
	}
	if crop.Empty() || !crop.In(image.Rect(0, 0, dstW, dstH)) {
		panic(fmt.Sprintf("imagenet: crop %v outside the %dx%d resize", crop, dstW, dstH))
	}
	r := &Resizer{dw: dstW, dh: dstH, sw: srcW, sh: srcH, win: crop, needH: dstW != srcW, needV: dstH != srcH}
	if r.needH {
		r.h = newHPlan(newAxisPlan(f, srcW, dstW), crop.Min.X, crop.Max.X, srcW)
		r.h.wide = newHWide(&r.h, 3*srcW)
	}
	if r.needV {
		v := newAxisPlan(f, srcH, dstH)
		y0, y1 := crop.Min.Y, crop.Max.Y
		r.v = axisPlan{ksize: v.ksize, bounds: v.bounds[2*y0 : 2*y1], kk: v.kk[y0*v.ksize : y1*v.ksize]}
		r.yFirst = r.v.bounds[0]
		r.yLast = r.v.bounds[len(r.v.bounds)-2] + r.v.bounds[len(r.v.bounds)-1]
		if r.needH {
			// The vertical pass reads the horizontal pass's output,
			// which starts at source row yFirst.
			for i := 0; i < len(r.v.bounds); i += 2 {
				r.v.bounds[i] -= r.yFirst
			}
		}
	}
	r.src = r.sourceRect()
	return r
}

// SourceRect returns the source pixels Resize reads: the columns of the
// horizontal taps of the window's outputs and the rows of its vertical
// taps (the window itself along an axis that is not resized).
func (r *Resizer) SourceRect() image.Rectangle { return r.src }

// sourceRect computes SourceRect from the plan, once, when it is built
// (Pipeline.Decode and Apply ask for it per image).
func (r *Resizer) sourceRect() image.Rectangle {
	s := r.win
	if r.needH {
		s.Min.X, s.Max.X = r.sw, 0
		for _, off := range r.h.off {
			s.Min.X = min(s.Min.X, off/3)
			s.Max.X = max(s.Max.X, off/3+r.h.taps)
		}
	}
	if r.needV {
		s.Min.Y, s.Max.Y = r.yFirst, r.yLast
	}
	return s
}

// OutputSize returns the size of the images Resize writes: the crop's
// size for a NewCropResizer, else the destination size.
func (r *Resizer) OutputSize() (w, h int) { return r.win.Dx(), r.win.Dy() }

// Resize writes the resized src (or its window) into dst. dst must have
// OutputSize and src srcW×srcH; a mismatch panics.
func (r *Resizer) Resize(dst, src *Image) {
	src.check("source")
	dst.check("destination")
	ow, oh := r.win.Dx(), r.win.Dy()
	if src.Width != r.sw || src.Height != r.sh || dst.Width != ow || dst.Height != oh {
		panic(fmt.Sprintf("imagenet: Resizer for %dx%d -> %dx%d (window %v) used with %dx%d -> %dx%d",
			r.sw, r.sh, r.dw, r.dh, r.win, src.Width, src.Height, dst.Width, dst.Height))
	}
	switch {
	case !r.needH && !r.needV:
		src.CropInto(dst, r.win)
	case !r.needV:
		r.horizontal(dst.Pix, src.Pix, r.win.Min.Y, r.win.Max.Y)
	case !r.needH:
		sc := getScratch(0, 3*ow)
		r.vertical(dst.Pix, src.Pix, 3*r.sw, 3*r.win.Min.X, sc.acc)
		scratchPool.Put(sc)
	default:
		sc := getScratch(3*ow*(r.yLast-r.yFirst), 3*ow)
		r.horizontal(sc.tmp, src.Pix, r.yFirst, r.yLast)
		r.vertical(dst.Pix, sc.tmp, 3*ow, 0, sc.acc)
		scratchPool.Put(sc)
	}
}

// scratch buffers of one Resize call, shared by all Resizers.
type scratch struct {
	tmp []byte  // horizontal pass output
	acc []int32 // one row of vertical accumulators (long kernels only)
}

var scratchPool sync.Pool // *scratch

func getScratch(tmp, acc int) *scratch {
	sc, _ := scratchPool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if cap(sc.tmp) < tmp {
		sc.tmp = make([]byte, tmp)
	}
	if cap(sc.acc) < acc {
		sc.acc = make([]int32, acc)
	}
	sc.tmp, sc.acc = sc.tmp[:tmp], sc.acc[:acc]
	return sc
}

// horizontal is ImagingResampleHorizontal_8bpc for the window's columns
// over source rows [y0, y1), writing rows of the window's width to out
// starting at out's row 0.
func (r *Resizer) horizontal(out, in []byte, y0, y1 int) {
	sStride, dStride := 3*r.sw, 3*r.win.Dx()
	hp := &r.h
	for y := y0; y < y1; y++ {
		row := in[y*sStride : (y+1)*sStride]
		o := out[(y-y0)*dStride : (y-y0+1)*dStride]
		i := 0
		if hp.wide != nil && useAVX2 {
			hp.rowAVX2(o, row)
			i = hp.wide.n
		}
		if i < len(hp.off) {
			hp.rowGo(o[3*i:], row, hp.off[i:], hp.w[i*hp.taps:])
		}
	}
}

// rowGo computes the outputs of off (weights w) of one row of the
// horizontal pass with the Go kernels.
func (hp *hplan) rowGo(o, row []byte, off []int, w []int32) {
	if hp.noClip {
		switch hp.taps {
		case 2:
			hrow2NC(o, row, off, w)
			return
		case 3:
			hrow3NC(o, row, off, w)
			return
		case 4:
			hrow4NC(o, row, off, w)
			return
		case 5:
			hrow5NC(o, row, off, w)
			return
		case 6:
			hrow6NC(o, row, off, w)
			return
		}
	}
	switch hp.taps {
	case 2:
		hrow2(o, row, off, w)
	case 3:
		hrow3(o, row, off, w)
	case 4:
		hrow4(o, row, off, w)
	case 5:
		hrow5(o, row, off, w)
	case 6:
		hrow6(o, row, off, w)
	default:
		hrowN(o, row, off, w, hp.taps)
	}
}

// vertical is ImagingResampleVertical_8bpc for the window's rows: input
// row y of the pass starts at in[y*stride+col] and the window is
// 3*OutputSize().w bytes wide. Integer sums do not depend on their order,
// so whole-row accumulation equals Pillow's per-pixel loop.
func (r *Resizer) vertical(out, in []byte, stride, col int, acc []int32) {
	rowBytes := 3 * r.win.Dx()
	ks := r.v.ksize
	simd := useAVX2 && rowBytes >= 32
	for yy := 0; yy < r.win.Dy(); yy++ {
		ymin, n := r.v.bounds[2*yy], r.v.bounds[2*yy+1]
		k := r.v.kk[yy*ks : yy*ks+n]
		o := out[yy*rowBytes : (yy+1)*rowBytes]
		if simd && n > 0 {
			vrowAVX2(o, in[ymin*stride+col:], stride, k)
		} else {
			vrowGo(o, in[ymin*stride+col:], stride, k, acc)
		}
	}
}

// vrowGo computes one output row o of the vertical pass from the len(k)
// rows stride bytes apart that start at in[0] with the Go kernels; acc
// holds len(o) accumulators for kernels longer than 4.
func vrowGo(o, in []byte, stride int, k []int32, acc []int32) {
	rowBytes := len(o)
	row := func(y int) []byte { return in[y*stride : y*stride+rowBytes] }
	if sumsFitByte(k) {
		switch len(k) {
		case 1:
			vrow1NC(o, row(0), k[0])
			return
		case 2:
			vrow2NC(o, row(0), row(1), k[0], k[1])
			return
		case 3:
			vrow3NC(o, row(0), row(1), row(2), k[0], k[1], k[2])
			return
		case 4:
			vrow4NC(o, row(0), row(1), row(2), row(3), k[0], k[1], k[2], k[3])
			return
		}
	}
	switch len(k) {
	case 1:
		vrow1(o, row(0), k[0])
	case 2:
		vrow2(o, row(0), row(1), k[0], k[1])
	case 3:
		vrow3(o, row(0), row(1), row(2), k[0], k[1], k[2])
	case 4:
		vrow4(o, row(0), row(1), row(2), row(3), k[0], k[1], k[2], k[3])
	default:
		a := acc[:rowBytes]
		for i := range a {
			a[i] = 1 << (precisionBits - 1)
		}
		for y, w := range k {
			for i, v := range row(y) {
				a[i] += int32(v) * w
			}
		}
		for i, s := range a {
			o[i] = clip8(s)
		}
	}
}

// ResizeImage returns src resized to w×h with Pillow's bilinear filter.
func ResizeImage(src *Image, w, h int) *Image {
	dst := NewImage(w, h)
	NewResizer(w, h, src.Width, src.Height).Resize(dst, src)
	return dst
}
