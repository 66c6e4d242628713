package imagenet

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RandAugment is mmpretrain's RandAugment (auto_augment.py) with the
// 'timm_increasing' policy set of the MobileOne configs:
//
//	dict(type='RandAugment', policies='timm_increasing', num_policies=2,
//	     total_level=10, magnitude_level=7, magnitude_std=0.5,
//	     hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic'))
//
// Per image: num_policies ops are drawn uniformly with replacement from the
// 15 policies; each gets magnitude ~ N(magnitude_level, magnitude_std)
// (uniform on [0, magnitude_level] for magnitude_std 'inf') clipped to
// [0, total_level], mapped linearly onto the op's magnitude_range; the op
// then runs with probability 0.5 and, for the signed ops (Rotate, Shear,
// Translate, ColorTransform, Contrast, Brightness, Sharpness), negates its
// magnitude with probability 0.5.
//
// The photometric ops follow mmcv on the BGR uint8 image (bgr2gray with
// OpenCV's fixed-point weights, cv2.addWeighted, the SMOOTH kernel for
// Sharpness). The geometric ops follow PIL's Image.transform(AFFINE) as
// timm applies them: Rotate about the centre (Image.rotate) and Translate
// with nearest-neighbour sampling, Shear with the interpolation of hparams
// (bicubic in the MobileOne configs), and pixels mapped from outside the
// image set to pad_val (given in BGR order, as the configs' bgr_mean).
type RandAugment struct {
	Ops            []RandAugmentOp
	NumPolicies    int
	TotalLevel     float64
	MagnitudeLevel float64
	MagnitudeStd   float64 // < 0 means 'inf' (uniform)
	PadVal         [3]uint8
	Interpolation  string // "bicubic", "bilinear" or "nearest" (Shear)
}

// RandAugmentOp is one policy: an op name and its magnitude range
// (min, max) at levels 0 and total_level (unused by the ops without
// magnitude).
type RandAugmentOp struct {
	Type      string
	Direction string // Shear, Translate
	Min, Max  float64
}

// TimmIncreasing is mmpretrain's RANDAUG_POLICIES['timm_increasing'].
var TimmIncreasing = []RandAugmentOp{
	{Type: "AutoContrast"},
	{Type: "Equalize"},
	{Type: "Invert"},
	{Type: "Rotate", Min: 0, Max: 30},
	{Type: "Posterize", Min: 4, Max: 0},
	{Type: "Solarize", Min: 256, Max: 0},
	{Type: "SolarizeAdd", Min: 0, Max: 110},
	{Type: "ColorTransform", Min: 0, Max: 0.9},
	{Type: "Contrast", Min: 0, Max: 0.9},
	{Type: "Brightness", Min: 0, Max: 0.9},
	{Type: "Sharpness", Min: 0, Max: 0.9},
	{Type: "Shear", Direction: "horizontal", Min: 0, Max: 0.3},
	{Type: "Shear", Direction: "vertical", Min: 0, Max: 0.3},
	{Type: "Translate", Direction: "horizontal", Min: 0, Max: 0.45},
	{Type: "Translate", Direction: "vertical", Min: 0, Max: 0.45},
}

// RegisterRandAugment adds RandAugment to r.
func RegisterRandAugment(r Registry) { r["RandAugment"] = newRandAugment }

func newRandAugment(p Params) (Transform, error) {
	t := &RandAugment{Interpolation: "bicubic", PadVal: [3]uint8{128, 128, 128}}
	pol, err := p.String("policies", "")
	if err != nil {
		return nil, UnsupportedError("RandAugment policies other than 'timm_increasing'")
	}
	if pol != "timm_increasing" {
		return nil, UnsupportedError(fmt.Sprintf("RandAugment policies %q (only 'timm_increasing')", pol))
	}
	t.Ops = TimmIncreasing
	if t.NumPolicies, err = p.Int("num_policies", 2); err != nil {
		return nil, err
	}
	if t.NumPolicies < 0 {
		return nil, p.errorf("num_policies", "must not be negative")
	}
	if t.TotalLevel, err = p.Float("total_level", 10); err != nil {
		return nil, err
	}
	if t.TotalLevel <= 0 {
		return nil, p.errorf("total_level", "must be positive")
	}
	if t.MagnitudeLevel, err = p.Float("magnitude_level", 0); err != nil {
		return nil, err
	}
	if !p.Has("magnitude_level") {
		return nil, FormatError("RandAugment: \"magnitude_level\" is required")
	}
	if t.MagnitudeLevel < 0 || t.MagnitudeLevel > t.TotalLevel {
		return nil, p.errorf("magnitude_level", "must be in [0, total_level]")
	}
	if p.Has("magnitude_std") {
		if s, ok := p.m["magnitude_std"].(string); ok {
			if s != "inf" {
				return nil, p.errorf("magnitude_std", "want a number or 'inf', got %q", s)
			}
			t.MagnitudeStd = -1
		} else if t.MagnitudeStd, err = p.Float("magnitude_std", 0); err != nil {
			return nil, err
		} else if t.MagnitudeStd < 0 {
			return nil, p.errorf("magnitude_std", "must not be negative")
		}
	}
	if p.Has("hparams") {
		hp, ok := p.m["hparams"].(map[string]any)
		if !ok {
			return nil, p.errorf("hparams", "want a dict")
		}
		for k, v := range hp {
			switch k {
			case "pad_val":
				l, ok := toList(v)
				if f, isNum := toFloat(v); isNum {
					l, ok = []any{f, f, f}, true
				}
				if !ok || len(l) != 3 {
					return nil, p.errorf("hparams", "pad_val: want a number or 3 numbers, got %v", v)
				}
				for i := range l {
					f, isNum := toFloat(l[i])
					if !isNum || f < 0 || f > 255 {
						return nil, p.errorf("hparams", "pad_val: want values in [0, 255], got %v", v)
					}
					t.PadVal[i] = uint8(math.Round(f))
				}
			case "interpolation":
				s, _ := v.(string)
				switch s {
				case "bicubic", "bilinear", "nearest":
					t.Interpolation = s
				default:
					return nil, p.errorf("hparams", "interpolation %v is not supported (bicubic, bilinear, nearest)", v)
				}
			default:
				return nil, p.errorf("hparams", "unknown key %q (pad_val, interpolation)", k)
			}
		}
	}
	return t, nil
}

// Apply implements Transform.
func (t *RandAugment) Apply(img *Image, rng *rand.Rand) (*Image, error) {
	if t.NumPolicies == 0 {
		return img, nil
	}
	if rng == nil {
		return nil, errNeedRNG
	}
	img.check("RandAugment")
	idx := make([]int, t.NumPolicies)
	for i := range idx {
		idx[i] = rng.IntN(len(t.Ops))
	}
	for _, i := range idx {
		op := t.Ops[i]
		level := t.MagnitudeLevel
		if t.MagnitudeStd < 0 {
			level = rng.Float64() * level
		} else if t.MagnitudeStd > 0 {
			level = level + t.MagnitudeStd*rng.NormFloat64()
		}
		level = min(max(level, 0), t.TotalLevel)
		mag := level/t.TotalLevel*(op.Max-op.Min) + op.Min
		if rng.Float64() > 0.5 { // BaseAugTransform.random_disable, prob 0.5
			continue
		}
		if isSignedOp(op.Type) && rng.Float64() < 0.5 {
			mag = -mag
		}
		img = t.applyOp(img, op, mag)
	}
	return img, nil
}

func isSignedOp(typ string) bool {
	switch typ {
	case "Rotate", "Shear", "Translate", "ColorTransform", "Contrast", "Brightness", "Sharpness":
		return true
	}
	return false
}

// ApplyOp runs one op with the given (already signed) magnitude; exported
// for tests and for other augmentation policies.
func (t *RandAugment) ApplyOp(img *Image, op RandAugmentOp, magnitude float64) *Image {
	img.check("RandAugment")
	return t.applyOp(img, op, magnitude)
}

func (t *RandAugment) applyOp(img *Image, op RandAugmentOp, mag float64) *Image {
	switch op.Type {
	case "AutoContrast":
		autoContrast(img)
	case "Equalize":
		equalize(img)
	case "Invert":
		for i, v := range img.Pix {
			img.Pix[i] = 255 - v
		}
	case "Posterize":
		posterize(img, int(math.Ceil(mag)))
	case "Solarize":
		for i, v := range img.Pix {
			if float64(v) >= mag {
				img.Pix[i] = 255 - v
			}
		}
	case "SolarizeAdd":
		for i, v := range img.Pix {
			if v < 128 {
				img.Pix[i] = uint8(min(float64(v)+mag, 255))
			}
		}
	case "Brightness":
		blendConst(img, 1+mag, 0)
	case "Contrast":
		gray := grayImage(img)
		var s int
		for _, g := range gray {
			s += int(g)
		}
		mean := 0.0
		if len(gray) > 0 {
			mean = math.RoundToEven(float64(s) / float64(len(gray)))
		}
		blendConst(img, 1+mag, mean)
	case "ColorTransform":
		adjustColor(img, 1+mag)
	case "Sharpness":
		adjustSharpness(img, 1+mag)
	case "Rotate":
		return rotatePIL(img, mag, t.PadVal)
	case "Shear":
		m := [6]float64{1, mag, 0, 0, 1, 0}
		if op.Direction == "vertical" {
			m = [6]float64{1, 0, 0, mag, 1, 0}
		}
		return affinePIL(img, m, t.Interpolation, t.PadVal)
	case "Translate":
		m := [6]float64{1, 0, mag * float64(img.Width), 0, 1, 0}
		if op.Direction == "vertical" {
			m = [6]float64{1, 0, 0, 0, 1, mag * float64(img.Height)}
		}
		return affinePIL(img, m, "nearest", t.PadVal)
	default:
		panic("imagenet: unknown RandAugment op " + op.Type)
	}
	return img
}

// histogram256 counts the values of channel c.
func histogram256(img *Image, c int) (h [256]int) {
	for i := c; i < len(img.Pix[:3*img.Width*img.Height]); i += 3 {
		h[img.Pix[i]]++
	}
	return h
}

// autoContrast is mmcv.auto_contrast(img, cutoff=0) then astype(uint8):
// per channel, the lut x·255/(hi−lo) − lo·255/(hi−lo) clipped to [0, 255]
// and truncated; channels with hi ≤ lo are left as they are.
func autoContrast(img *Image) {
	for c := 0; c < 3; c++ {
		h := histogram256(img, c)
		lo, hi := -1, -1
		for v := 0; v < 256; v++ {
			if h[v] > 0 {
				if lo < 0 {
					lo = v
				}
				hi = v
			}
		}
		if lo < 0 || lo >= hi {
			continue
		}
		scale := 255.0 / float64(hi-lo)
		offset := -float64(lo) * scale
		var lut [256]uint8
		for v := range lut {
			lut[v] = uint8(min(max(float64(v)*scale+offset, 0), 255))
		}
		for i := c; i < 3*img.Width*img.Height; i += 3 {
			img.Pix[i] = lut[img.Pix[i]]
		}
	}
}

// equalize is mmcv.imequalize: per channel, step = (count − count of the
// highest non-empty bin) // 255; lut[0] = 0, lut[v] = (cum[v−1] + step//2)
// // step capped at 255; channels with step 0 are left as they are.
func equalize(img *Image) {
	for c := 0; c < 3; c++ {
		h := histogram256(img, c)
		total, last := 0, 0
		for _, n := range h {
			if n > 0 {
				total += n
				last = n
			}
		}
		step := (total - last) / 255
		if step == 0 {
			continue
		}
		var lut [256]uint8
		cum := 0
		for v := 0; v < 256; v++ {
			if v > 0 {
				lut[v] = uint8(min((cum+step/2)/step, 255))
			}
			cum += h[v]
		}
		for i := c; i < 3*img.Width*img.Height; i += 3 {
			img.Pix[i] = lut[img.Pix[i]]
		}
	}
}

// posterize keeps the top bits (mmcv.posterize: x >> (8−bits) << (8−bits)).
func posterize(img *Image, bits int) {
	bits = min(max(bits, 0), 8)
	shift := uint(8 - bits)
	for i, v := range img.Pix {
		img.Pix[i] = uint8(int(v) >> shift << shift)
	}
}

// grayImage is cv2.cvtColor(BGR2GRAY) on uint8: OpenCV's fixed-point
// (B·1868 + G·9617 + R·4899 + 2¹³) >> 14.
func grayImage(img *Image) []uint8 {
	n := img.Width * img.Height
	g := make([]uint8, n)
	for i := 0; i < n; i++ {
		b, gg, r := int(img.Pix[3*i]), int(img.Pix[3*i+1]), int(img.Pix[3*i+2])
		g[i] = uint8((b*1868 + gg*9617 + r*4899 + 8192) >> 14)
	}
	return g
}

// blendConst is cv2.addWeighted(img.astype(float32), f, const, 1−f, 0)
// clipped to [0, 255] and truncated (mmcv adjust_brightness with const 0,
// adjust_contrast with the rounded gray mean).
func blendConst(img *Image, f, c float64) {
	ff, cc := float32(f), float32(c)*float32(1-f)
	for i, v := range img.Pix {
		img.Pix[i] = truncU8(float32(v)*ff + cc)
	}
}

func truncU8(v float32) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// roundU8 is OpenCV's saturate_cast<uchar>(float): round half to even, then
// saturate.
func roundU8(v float32) uint8 {
	r := math.RoundToEven(float64(v))
	if r <= 0 {
		return 0
	}
	if r >= 255 {
		return 255
	}
	return uint8(r)
}

// adjustColor is mmcv.adjust_color(img, alpha) with the cv2 backend:
// cv2.addWeighted(img, alpha, gray3, 1−alpha, 0) on uint8 (float
// arithmetic, rounded and saturated).
func adjustColor(img *Image, alpha float64) {
	g := grayImage(img)
	a, b := float32(alpha), float32(1-alpha)
	for i := range g {
		gv := float32(g[i]) * b
		for c := 0; c < 3; c++ {
			img.Pix[3*i+c] = roundU8(float32(img.Pix[3*i+c])*a + gv)
		}
	}
}

// adjustSharpness is mmcv.adjust_sharpness(img, factor): the degenerate
// image is cv2.filter2D with PIL's SMOOTH kernel [[1,1,1],[1,5,1],[1,1,1]]/13
// (reflect-101 borders, rounded), blended with addWeighted in float32 and
// truncated.
func adjustSharpness(img *Image, factor float64) {
	w, h := img.Width, img.Height
	if w == 0 || h == 0 {
		return
	}
	deg := make([]uint8, len(img.Pix))
	refl := func(i, n int) int {
		if n == 1 {
			return 0
		}
		if i < 0 {
			return -i
		}
		if i >= n {
			return 2*n - 2 - i
		}
		return i
	}
	const k = float32(1.0 / 13)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				var s float32
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						wt := k
						if dx == 0 && dy == 0 {
							wt = 5 * k
						}
						s += wt * float32(img.Pix[(refl(y+dy, h)*w+refl(x+dx, w))*3+c])
					}
				}
				deg[(y*w+x)*3+c] = roundU8(s)
			}
		}
	}
	f, g := float32(factor), float32(1-factor)
	for i, v := range img.Pix {
		img.Pix[i] = truncU8(float32(v)*f + float32(deg[i])*g)
	}
}

// rotatePIL is PIL's Image.rotate(angle, NEAREST, fillcolor=pad): a
// counter-clockwise rotation by angle degrees about the image centre.
func rotatePIL(img *Image, angle float64, pad [3]uint8) *Image {
	w, h := float64(img.Width), float64(img.Height)
	a := -angle * math.Pi / 180
	r15 := func(v float64) float64 { return math.Round(v*1e15) / 1e15 }
	m := [6]float64{r15(math.Cos(a)), r15(math.Sin(a)), 0, r15(-math.Sin(a)), r15(math.Cos(a)), 0}
	cx, cy := w/2, h/2
	m[2] = m[0]*(-cx) + m[1]*(-cy) + m[2] + cx
	m[5] = m[3]*(-cx) + m[4]*(-cy) + m[5] + cy
	return affinePIL(img, m, "nearest", pad)
}

// affinePIL is PIL's Image.transform(size, AFFINE, m, resample,
// fillcolor=pad) on the BGR image: output pixel (x, y) reads the input at
// (m0·(x+½) + m1·(y+½) + m2, m3·(x+½) + m4·(y+½) + m5); pixels whose source
// is outside the image are pad. NEAREST uses PIL's scale path (no
// rotation/shear terms) or its 16.16 fixed-point path; BILINEAR and BICUBIC
// (a = −1, edge-clamped, truncated) its generic filters.
func affinePIL(img *Image, m [6]float64, interp string, pad [3]uint8) *Image {
	w, h := img.Width, img.Height
	out := NewImage(w, h)
	for i := 0; i < w*h; i++ {
		out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = pad[0], pad[1], pad[2]
	}
	put := func(x, y, xi, yi int) {
		copy(out.Pix[(y*w+x)*3:(y*w+x)*3+3], img.Pix[(yi*w+xi)*3:(yi*w+xi)*3+3])
	}
	coord := func(v float64) int { // PIL COORD
		if v < 0 {
			return -1
		}
		return int(v)
	}
	switch interp {
	case "nearest":
		if m[1] == 0 && m[3] == 0 { // ImagingScaleAffine
			xin := make([]int, w)
			xo := m[2] + m[0]*0.5
			for x := 0; x < w; x++ {
				xin[x] = coord(xo)
				xo += m[0]
			}
			yo := m[5] + m[4]*0.5
			for y := 0; y < h; y++ {
				yi := coord(yo)
				yo += m[4]
				if yi < 0 || yi >= h {
					continue
				}
				for x := 0; x < w; x++ {
					if xin[x] >= 0 && xin[x] < w {
						put(x, y, xin[x], yi)
					}
				}
			}
			return out
		}
		fix := func(v float64) int64 { return int64(math.Floor(v*65536 + 0.5)) }
		a0, a1, a3, a4 := fix(m[0]), fix(m[1]), fix(m[3]), fix(m[4])
		a2 := fix(m[2] + m[0]*0.5 + m[1]*0.5)
		a5 := fix(m[5] + m[3]*0.5 + m[4]*0.5)
		for y := 0; y < h; y++ {
			xx, yy := int32(a2), int32(a5)
			for x := 0; x < w; x++ {
				xi := int(xx >> 16)
				if xi >= 0 && xi < w {
					if yi := int(yy >> 16); yi >= 0 && yi < h {
						put(x, y, xi, yi)
					}
				}
				xx += int32(a0)
				yy += int32(a3)
			}
			a2 += a1
			a5 += a4
		}
		return out
	case "bilinear", "bicubic":
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				xs := m[0]*(float64(x)+0.5) + m[1]*(float64(y)+0.5) + m[2]
				ys := m[3]*(float64(x)+0.5) + m[4]*(float64(y)+0.5) + m[5]
				if xs < 0 || xs >= float64(w) || ys < 0 || ys >= float64(h) {
					continue
				}
				for c := 0; c < 3; c++ {
					var v float64
					if interp == "bicubic" {
						v = bicubicPIL(img, xs, ys, c)
					} else {
						v = bilinearPIL(img, xs, ys, c)
					}
					var u uint8
					switch {
					case v < 0:
						u = 0
					case v >= 255:
						u = 255
					default:
						u = uint8(v)
					}
					out.Pix[(y*w+x)*3+c] = u
				}
			}
		}
		return out
	}
	panic("imagenet: unknown interpolation " + interp)
}

func clampIdx(i, n int) int {
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

func cubicPIL(v1, v2, v3, v4, d float64) float64 {
	p1 := v2
	p2 := -v1 + v3
	p3 := 2*(v1-v2) + v3 - v4
	p4 := -v1 + v2 - v3 + v4
	return p1 + d*(p2+d*(p3+d*p4))
}

// bicubicPIL is Geometry.c's BICUBIC_HEAD/BICUBIC_BODY for one band.
func bicubicPIL(img *Image, xin, yin float64, c int) float64 {
	w, h := img.Width, img.Height
	xin -= 0.5
	yin -= 0.5
	x, y := int(math.Floor(xin)), int(math.Floor(yin))
	dx, dy := xin-float64(x), yin-float64(y)
	x--
	y--
	xs := [4]int{clampIdx(x, w), clampIdx(x+1, w), clampIdx(x+2, w), clampIdx(x+3, w)}
	row := func(yy int) float64 {
		p := img.Pix[yy*w*3:]
		return cubicPIL(float64(p[xs[0]*3+c]), float64(p[xs[1]*3+c]), float64(p[xs[2]*3+c]), float64(p[xs[3]*3+c]), dx)
	}
	v1 := row(clampIdx(y, h))
	v2, v3, v4 := v1, 0.0, 0.0
	if y+1 >= 0 && y+1 < h {
		v2 = row(y + 1)
	}
	v3 = v2
	if y+2 >= 0 && y+2 < h {
		v3 = row(y + 2)
	}
	v4 = v3
	if y+3 >= 0 && y+3 < h {
		v4 = row(y + 3)
	}
	return cubicPIL(v1, v2, v3, v4, dy)
}

// bilinearPIL is Geometry.c's BILINEAR_HEAD/BILINEAR_BODY for one band.
func bilinearPIL(img *Image, xin, yin float64, c int) float64 {
	w, h := img.Width, img.Height
	xin -= 0.5
	yin -= 0.5
	x, y := int(math.Floor(xin)), int(math.Floor(yin))
	dx, dy := xin-float64(x), yin-float64(y)
	x0, x1 := clampIdx(x, w), clampIdx(x+1, w)
	at := func(yy, xx int) float64 { return float64(img.Pix[(yy*w+xx)*3+c]) }
	y0 := clampIdx(y, h)
	v1 := at(y0, x0) + (at(y0, x1)-at(y0, x0))*dx
	v2 := v1
	if y+1 >= 0 && y+1 < h {
		v2 = at(y+1, x0) + (at(y+1, x1)-at(y+1, x0))*dx
	}
	return v1 + (v2-v1)*dy
}
