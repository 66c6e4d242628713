package imagenet

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
)

// ResizeEdgeSize is mmpretrain's ResizeEdge size rule: the chosen edge
// becomes scale and the other edge int(scale*other/edge), with the product
// exact, the division in float64 and int() truncating. edge is "short",
// "long", "width" or "height"; "short" resizes the height when w >= h
// (square images included). Example: 500×375, 256, short → 341×256.
func ResizeEdgeSize(w, h, scale int, edge string) (nw, nh int) {
	var byWidth bool
	switch edge {
	case "short":
		byWidth = w < h
	case "long":
		byWidth = w > h
	case "width":
		byWidth = true
	case "height":
		byWidth = false
	default:
		panic(fmt.Sprintf("imagenet: ResizeEdge edge %q", edge))
	}
	if byWidth {
		return scale, int(float64(scale*h) / float64(w))
	}
	return int(float64(scale*w) / float64(h)), scale
}

// CenterCropRect is mmcv's CenterCrop (auto_pad=False) box for a w×h image:
// x1 = max(0, round((w-cropW)/2)), y1 likewise, with Python 3 round (half
// to even: 52.5 → 52, 79.5 → 80), clipped to the image, so a crop larger
// than the image shrinks to it.
func CenterCropRect(w, h, cropW, cropH int) image.Rectangle {
	y1 := max(0, int(math.RoundToEven(float64(h-cropH)/2)))
	x1 := max(0, int(math.RoundToEven(float64(w-cropW)/2)))
	y2 := min(h, y1+cropH)
	x2 := min(w, x1+cropW)
	return image.Rect(x1, y1, x2, y2)
}

// RandomResizedCropParams are mmpretrain RandomResizedCrop's sampling
// parameters; the zero value is not valid, start from
// DefaultRandomResizedCropParams.
type RandomResizedCropParams struct {
	CropRatioRange   [2]float64 // fraction of the image area, default (0.08, 1.0)
	AspectRatioRange [2]float64 // w/h, default (3/4, 4/3)
	MaxAttempts      int        // default 10
}

// DefaultRandomResizedCropParams returns mmpretrain's defaults.
func DefaultRandomResizedCropParams() RandomResizedCropParams {
	return RandomResizedCropParams{CropRatioRange: [2]float64{0.08, 1}, AspectRatioRange: [2]float64{3.0 / 4, 4.0 / 3}, MaxAttempts: 10}
}

// uniform returns a value in [a, b), as np.random.uniform(a, b).
func uniform(rng *rand.Rand, a, b float64) float64 { return a + (b-a)*rng.Float64() }

// RandomResizedCropRect draws the crop box of mmpretrain's
// RandomResizedCrop.rand_crop_params for a w×h image. The sampling follows
// upstream step by step (area fraction, log-uniform aspect ratio, Python
// round half to even, offset_h drawn before offset_w, the centred fallback
// after MaxAttempts failures), but the random stream is rng's, not
// numpy's MT19937.
func RandomResizedCropRect(w, h int, p RandomResizedCropParams, rng *rand.Rand) image.Rectangle {
	area := float64(h * w)
	logLo, logHi := math.Log(p.AspectRatioRange[0]), math.Log(p.AspectRatioRange[1])
	for i := 0; i < p.MaxAttempts; i++ {
		target := uniform(rng, p.CropRatioRange[0], p.CropRatioRange[1]) * area
		aspect := math.Exp(uniform(rng, logLo, logHi))
		tw := int(math.RoundToEven(math.Sqrt(target * aspect)))
		th := int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < tw && tw <= w && 0 < th && th <= h {
			oy := rng.IntN(h - th + 1)
			ox := rng.IntN(w - tw + 1)
			return image.Rect(ox, oy, ox+tw, oy+th)
		}
	}
	// Fallback to a central crop.
	inRatio := float64(w) / float64(h)
	tw, th := w, h
	if inRatio < math.Min(p.AspectRatioRange[0], p.AspectRatioRange[1]) {
		th = int(math.RoundToEven(float64(w) / math.Min(p.AspectRatioRange[0], p.AspectRatioRange[1])))
	} else if inRatio > math.Max(p.AspectRatioRange[0], p.AspectRatioRange[1]) {
		tw = int(math.RoundToEven(float64(h) * math.Max(p.AspectRatioRange[0], p.AspectRatioRange[1])))
	}
	oy, ox := (h-th)/2, (w-tw)/2
	return image.Rect(ox, oy, ox+tw, oy+th).Intersect(image.Rect(0, 0, w, h))
}
