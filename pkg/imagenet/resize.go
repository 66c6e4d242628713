package imagenet

import (
	"fmt"
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
// The plan is built once per shape (like x/image/draw's NewScaler) and is
// safe for concurrent use; scratch buffers come from an internal pool, so
// steady-state resizing does not allocate.
type Resizer struct {
	dw, dh, sw, sh int
	needH, needV   bool
	h, v           axisPlan
	yFirst, yLast  int       // source rows [yFirst, yLast) feed the vertical pass
	pool           sync.Pool // *scratch
}

// NewResizer returns a Pillow-bilinear (antialiased) Resizer.
func NewResizer(dstW, dstH, srcW, srcH int) *Resizer {
	return Bilinear.NewResizer(dstW, dstH, srcW, srcH)
}

// NewResizer returns a Resizer using filter f.
func (f *Filter) NewResizer(dstW, dstH, srcW, srcH int) *Resizer {
	if dstW <= 0 || dstH <= 0 || srcW <= 0 || srcH <= 0 {
		panic(fmt.Sprintf("imagenet: bad resize %dx%d -> %dx%d", srcW, srcH, dstW, dstH))
	}
	r := &Resizer{dw: dstW, dh: dstH, sw: srcW, sh: srcH, needH: dstW != srcW, needV: dstH != srcH}
	r.h = newAxisPlan(f, srcW, dstW)
	r.v = newAxisPlan(f, srcH, dstH)
	r.yFirst = r.v.bounds[0]
	r.yLast = r.v.bounds[2*dstH-2] + r.v.bounds[2*dstH-1]
	if r.needH {
		// The vertical pass reads the horizontal pass's output, which
		// starts at source row yFirst.
		for o := 0; o < dstH; o++ {
			r.v.bounds[2*o] -= r.yFirst
		}
	} else {
		r.yFirst, r.yLast = 0, srcH
	}
	return r
}

// Resize writes the resized src into dst. dst must be dstW×dstH and src
// srcW×srcH (the sizes given to NewResizer); a mismatch panics.
func (r *Resizer) Resize(dst, src *Image) {
	src.check("source")
	dst.check("destination")
	if src.Width != r.sw || src.Height != r.sh || dst.Width != r.dw || dst.Height != r.dh {
		panic(fmt.Sprintf("imagenet: Resizer for %dx%d -> %dx%d used with %dx%d -> %dx%d",
			r.sw, r.sh, r.dw, r.dh, src.Width, src.Height, dst.Width, dst.Height))
	}
	switch {
	case !r.needH && !r.needV:
		copy(dst.Pix, src.Pix[:3*r.sw*r.sh])
	case !r.needV:
		r.horizontal(dst.Pix, src.Pix, 0, r.sh)
	default:
		sc := r.scratch()
		if r.needH {
			r.horizontal(sc.tmp, src.Pix, r.yFirst, r.yLast)
			r.vertical(dst.Pix, sc.tmp, sc.acc)
		} else {
			r.vertical(dst.Pix, src.Pix, sc.acc)
		}
		r.pool.Put(sc)
	}
}

// scratch buffers of one Resize call.
type scratch struct {
	tmp []byte  // horizontal pass output, rows [yFirst, yLast)
	acc []int32 // one row of vertical accumulators
}

func (r *Resizer) scratch() *scratch {
	if sc, ok := r.pool.Get().(*scratch); ok {
		return sc
	}
	sc := &scratch{acc: make([]int32, 3*r.dw)}
	if r.needH {
		sc.tmp = make([]byte, 3*r.dw*(r.yLast-r.yFirst))
	}
	return sc
}

// horizontal is ImagingResampleHorizontal_8bpc over source rows [y0, y1),
// writing dw-wide rows to out starting at out's row 0.
func (r *Resizer) horizontal(out, in []byte, y0, y1 int) {
	ks := r.h.ksize
	sStride, dStride := 3*r.sw, 3*r.dw
	for y := y0; y < y1; y++ {
		row := in[y*sStride : (y+1)*sStride]
		o := out[(y-y0)*dStride : (y-y0+1)*dStride]
		for xx := 0; xx < r.dw; xx++ {
			xmin, n := r.h.bounds[2*xx], r.h.bounds[2*xx+1]
			k := r.h.kk[xx*ks : xx*ks+n]
			px := row[3*xmin : 3*(xmin+n)]
			s0, s1, s2 := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			for x, w := range k {
				p := px[3*x : 3*x+3]
				s0 += int32(p[0]) * w
				s1 += int32(p[1]) * w
				s2 += int32(p[2]) * w
			}
			o[3*xx], o[3*xx+1], o[3*xx+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
}

// vertical is ImagingResampleVertical_8bpc: dh output rows from in, whose
// rows are dw pixels wide and indexed by the (shifted) vertical bounds.
// It accumulates whole rows into acc (3*dw int32); integer sums do not
// depend on the order, so this equals Pillow's per-pixel loop.
func (r *Resizer) vertical(out, in []byte, acc []int32) {
	ks := r.v.ksize
	stride := 3 * r.dw
	acc = acc[:stride]
	for yy := 0; yy < r.dh; yy++ {
		ymin, n := r.v.bounds[2*yy], r.v.bounds[2*yy+1]
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		for y, w := range r.v.kk[yy*ks : yy*ks+n] {
			row := in[(ymin+y)*stride : (ymin+y+1)*stride]
			a := acc[:len(row)]
			for i, v := range row {
				a[i] += int32(v) * w
			}
		}
		o := out[yy*stride : (yy+1)*stride]
		for i, a := range acc {
			o[i] = clip8(a)
		}
	}
}

// ResizeImage returns src resized to w×h with Pillow's bilinear filter.
func ResizeImage(src *Image, w, h int) *Image {
	dst := NewImage(w, h)
	NewResizer(w, h, src.Width, src.Height).Resize(dst, src)
	return dst
}
