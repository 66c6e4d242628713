package imagenet

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// errNeedRNG is returned by random transforms applied with a nil rng.
var errNeedRNG = errors.New("imagenet: random transform needs a non-nil *rand.Rand")

// resizeFilter reads "backend" (default: defBackend) and "interpolation"
// (default bilinear). Only the pillow backend is reproduced: OpenCV's
// resize is a different algorithm and silently using Pillow's would break
// bit-compatibility.
func resizeFilter(p Params, defBackend string) (*Filter, error) {
	backend, err := p.String("backend", defBackend)
	if err != nil {
		return nil, err
	}
	if backend != "pillow" {
		return nil, UnsupportedError(fmt.Sprintf("resize backend %q (only \"pillow\" is implemented)", backend))
	}
	interp, err := p.String("interpolation", "bilinear")
	if err != nil {
		return nil, err
	}
	return filterByName(interp)
}

// resizeTo resizes img to w×h with f; the same size returns img unchanged
// (Pillow returns a copy). cached uses the shared plan cache (for
// transforms whose sizes repeat: ResizeEdge, Resize).
func resizeTo(img *Image, w, h int, f *Filter, cached bool) *Image {
	if img.Width == w && img.Height == h {
		return img
	}
	dst := NewImage(w, h)
	win := image.Rect(0, 0, w, h)
	if cached {
		cachedResizer(f, w, h, img.Width, img.Height, win).Resize(dst, img)
	} else {
		f.NewCropResizer(w, h, img.Width, img.Height, win).Resize(dst, img)
	}
	return dst
}

// planKey identifies a Resizer: filter, sizes and output window.
type planKey struct {
	f              *Filter
	dw, dh, sw, sh int
	win            image.Rectangle
}

// maxCachedPlans bounds the plan cache: ImageNet photos come in a few
// hundred distinct sizes; past the bound, plans are built per call.
const maxCachedPlans = 4096

var (
	planCache sync.Map // planKey -> *Resizer
	planCount atomic.Int32
)

// cachedResizer returns a shared Resizer for the key, building it once.
// Plans are immutable and Resize is safe for concurrent use.
func cachedResizer(f *Filter, dw, dh, sw, sh int, win image.Rectangle) *Resizer {
	k := planKey{f, dw, dh, sw, sh, win}
	if r, ok := planCache.Load(k); ok {
		return r.(*Resizer)
	}
	r := f.NewCropResizer(dw, dh, sw, sh, win)
	if planCount.Load() < maxCachedPlans {
		if prev, loaded := planCache.LoadOrStore(k, r); loaded {
			return prev.(*Resizer)
		}
		planCount.Add(1)
	}
	return r
}

// LoadImageFromFile is a marker: the loader decodes files (OpenCV
// semantics) before the pipeline runs, so only the default options are
// accepted.
func newLoadImageFromFile(p Params) (Transform, error) {
	p.Ignore("file_client_args", "backend_args", "ignore_empty")
	if f, err := p.Bool("to_float32", false); err != nil || f {
		if err == nil {
			err = UnsupportedError("to_float32=True")
		}
		return nil, err
	}
	if c, err := p.String("color_type", "color"); err != nil || c != "color" {
		if err == nil {
			err = UnsupportedError(fmt.Sprintf("color_type %q", c))
		}
		return nil, err
	}
	if b, err := p.String("imdecode_backend", "cv2"); err != nil || b != "cv2" {
		if err == nil {
			err = UnsupportedError(fmt.Sprintf("imdecode_backend %q", b))
		}
		return nil, err
	}
	return identity, nil
}

// identity is the transform of the steps that leave the pixels alone
// (LoadImageFromFile, PackInputs); Pipeline.sourceRect looks past them.
var identity Transform = identityStep{}

type identityStep struct{}

func (identityStep) Apply(img *Image, _ *rand.Rand) (*Image, error) { return img, nil }

// PackInputs only changes layout (HWC → CHW), which the Normalizer does.
func newPackInputs(p Params) (Transform, error) {
	p.Ignore("meta_keys", "algorithm_keys", "input_key")
	return identity, nil
}

// ResizeEdge is mmpretrain's ResizeEdge (default edge "short", backend
// "cv2" upstream, which is rejected here).
type ResizeEdge struct {
	Scale  int
	Edge   string
	Filter *Filter
}

func newResizeEdge(p Params) (Transform, error) {
	if !p.Has("scale") {
		return nil, FormatError("\"scale\" is required")
	}
	scale, err := p.Int("scale", 0)
	if err != nil {
		return nil, err
	}
	if scale <= 0 {
		return nil, p.errorf("scale", "must be positive, got %d", scale)
	}
	edge, err := p.String("edge", "short")
	if err != nil {
		return nil, err
	}
	switch edge {
	case "short", "long", "width", "height":
	default:
		return nil, p.errorf("edge", "must be short, long, width or height, got %q", edge)
	}
	f, err := resizeFilter(p, "cv2")
	if err != nil {
		return nil, err
	}
	return &ResizeEdge{Scale: scale, Edge: edge, Filter: f}, nil
}

// Apply resizes so that the chosen edge equals Scale.
func (t *ResizeEdge) Apply(img *Image, _ *rand.Rand) (*Image, error) {
	w, h := ResizeEdgeSize(img.Width, img.Height, t.Scale, t.Edge)
	if w <= 0 || h <= 0 {
		return nil, FormatError(fmt.Sprintf("ResizeEdge of %dx%d gives %dx%d", img.Width, img.Height, w, h))
	}
	return resizeTo(img, w, h, t.Filter, true), nil
}

// applyWithCrop is ResizeEdge t followed by CenterCrop c in one step:
// only the crop's window of the resized image is computed (see
// NewCropResizer), giving the same bytes as applying the two transforms
// one after the other. The result is written into dst when dst is not nil
// (its buffer reused), else into a new image; when no resize is needed and
// the crop is the whole image, img itself is returned, as the two steps do.
func (t *ResizeEdge) applyWithCrop(img *Image, c *CenterCrop, dst *Image) (*Image, error) {
	w, h := ResizeEdgeSize(img.Width, img.Height, t.Scale, t.Edge)
	if w <= 0 || h <= 0 {
		return nil, FormatError(fmt.Sprintf("ResizeEdge of %dx%d gives %dx%d", img.Width, img.Height, w, h))
	}
	r := CenterCropRect(w, h, c.W, c.H)
	if w == img.Width && h == img.Height {
		if r == img.Bounds() {
			return img, nil
		}
		return img.CropInto(dst, r), nil
	}
	dst = reuseImage(dst, r.Dx(), r.Dy())
	cachedResizer(t.Filter, w, h, img.Width, img.Height, r).Resize(dst, img)
	return dst, nil
}

// Resize is mmcv's Resize for images: to Scale (w, h) exactly, or with
// KeepRatio to the largest size fitting Scale's long and short edges
// (mmcv.rescale_size), or by ScaleFactor.
type Resize struct {
	Scale       [2]int // (w, h); zero when ScaleFactor is used
	ScaleFactor float64
	KeepRatio   bool
	Filter      *Filter
}

func newResize(p Params) (Transform, error) {
	p.Ignore("clip_object_border")
	t := &Resize{}
	var err error
	var ok bool
	if t.Scale, ok, err = p.IntPair("scale"); err != nil {
		return nil, err
	}
	if !ok {
		if t.ScaleFactor, err = p.Float("scale_factor", 0); err != nil {
			return nil, err
		}
		if t.ScaleFactor <= 0 {
			return nil, FormatError("one of \"scale\" or a positive \"scale_factor\" is required")
		}
	} else if t.Scale[0] <= 0 || t.Scale[1] <= 0 {
		return nil, p.errorf("scale", "must be positive, got %v", t.Scale)
	}
	if t.KeepRatio, err = p.Bool("keep_ratio", false); err != nil {
		return nil, err
	}
	if t.Filter, err = resizeFilter(p, "cv2"); err != nil {
		return nil, err
	}
	return t, nil
}

// scaleSize is mmcv's _scale_size: int(x*s + 0.5).
func scaleSize(w, h int, s float64) (int, int) {
	return int(float64(w)*s + 0.5), int(float64(h)*s + 0.5)
}

// Apply resizes img.
func (t *Resize) Apply(img *Image, _ *rand.Rand) (*Image, error) {
	w, h := t.Scale[0], t.Scale[1]
	if t.Scale == [2]int{} {
		w, h = scaleSize(img.Width, img.Height, t.ScaleFactor)
	}
	if t.KeepRatio {
		long, short := float64(max(w, h)), float64(min(w, h))
		s := math.Min(long/float64(max(img.Width, img.Height)), short/float64(min(img.Width, img.Height)))
		w, h = scaleSize(img.Width, img.Height, s)
	}
	if w <= 0 || h <= 0 {
		return nil, FormatError(fmt.Sprintf("Resize of %dx%d gives %dx%d", img.Width, img.Height, w, h))
	}
	return resizeTo(img, w, h, t.Filter, true), nil
}

// CenterCrop is mmcv's CenterCrop with auto_pad=False.
type CenterCrop struct{ W, H int }

func newCenterCrop(p Params) (Transform, error) {
	p.Ignore("clip_object_border", "pad_cfg")
	if pad, err := p.Bool("auto_pad", false); err != nil || pad {
		if err == nil {
			err = UnsupportedError("CenterCrop auto_pad=True")
		}
		return nil, err
	}
	size, ok, err := p.IntPair("crop_size") // (w, h)
	if err != nil {
		return nil, err
	}
	if !ok || size[0] <= 0 || size[1] <= 0 {
		return nil, FormatError("\"crop_size\" must be a positive int or (w, h)")
	}
	return &CenterCrop{W: size[0], H: size[1]}, nil
}

// Apply crops the centre.
func (t *CenterCrop) Apply(img *Image, _ *rand.Rand) (*Image, error) {
	r := CenterCropRect(img.Width, img.Height, t.W, t.H)
	if r == img.Bounds() {
		return img, nil
	}
	return img.Crop(r), nil
}

// RandomResizedCrop is mmpretrain's RandomResizedCrop: a random box
// (RandomResizedCropRect), cropped and resized to W×H. The config's
// "scale" is (h, w) upstream, or an int for a square.
type RandomResizedCrop struct {
	W, H   int
	Params RandomResizedCropParams
	Filter *Filter
}

func newRandomResizedCrop(p Params) (Transform, error) {
	hw, ok, err := p.IntPair("scale")
	if err != nil {
		return nil, err
	}
	if !ok || hw[0] <= 0 || hw[1] <= 0 {
		return nil, FormatError("\"scale\" must be a positive int or (h, w)")
	}
	t := &RandomResizedCrop{W: hw[1], H: hw[0], Params: DefaultRandomResizedCropParams()}
	if t.Params.CropRatioRange, err = p.FloatPair("crop_ratio_range", t.Params.CropRatioRange); err != nil {
		return nil, err
	}
	if t.Params.AspectRatioRange, err = p.FloatPair("aspect_ratio_range", t.Params.AspectRatioRange); err != nil {
		return nil, err
	}
	if t.Params.CropRatioRange[0] > t.Params.CropRatioRange[1] || t.Params.AspectRatioRange[0] > t.Params.AspectRatioRange[1] {
		return nil, FormatError(fmt.Sprintf("ranges must be (min, max): crop_ratio_range %v, aspect_ratio_range %v",
			t.Params.CropRatioRange, t.Params.AspectRatioRange))
	}
	if t.Params.AspectRatioRange[0] <= 0 {
		return nil, p.errorf("aspect_ratio_range", "must be positive")
	}
	if t.Params.MaxAttempts, err = p.Int("max_attempts", 10); err != nil {
		return nil, err
	}
	if t.Params.MaxAttempts < 0 {
		return nil, p.errorf("max_attempts", "must be >= 0")
	}
	if t.Filter, err = resizeFilter(p, "cv2"); err != nil {
		return nil, err
	}
	return t, nil
}

// Apply crops a random box and resizes it.
func (t *RandomResizedCrop) Apply(img *Image, rng *rand.Rand) (*Image, error) {
	if rng == nil {
		return nil, errNeedRNG
	}
	r := RandomResizedCropRect(img.Width, img.Height, t.Params, rng)
	if r.Empty() {
		return nil, FormatError(fmt.Sprintf("RandomResizedCrop: empty crop of %dx%d", img.Width, img.Height))
	}
	c := img
	if r != img.Bounds() {
		c = img.Crop(r)
	}
	return resizeTo(c, t.W, t.H, t.Filter, false), nil
}

// RandomFlip is mmcv's RandomFlip with one direction: flip with
// probability Prob.
type RandomFlip struct {
	Prob      float64
	Direction string // "horizontal", "vertical" or "diagonal"
}

func newRandomFlip(p Params) (Transform, error) {
	t := &RandomFlip{}
	var err error
	if !p.Has("prob") {
		return nil, FormatError("\"prob\" is required")
	}
	if t.Prob, err = p.Float("prob", 0); err != nil {
		return nil, err
	}
	if t.Prob < 0 || t.Prob > 1 {
		return nil, p.errorf("prob", "must be in [0, 1], got %v", t.Prob)
	}
	if t.Direction, err = p.String("direction", "horizontal"); err != nil {
		return nil, err
	}
	switch t.Direction {
	case "horizontal", "vertical", "diagonal":
	default:
		return nil, p.errorf("direction", "must be horizontal, vertical or diagonal, got %q", t.Direction)
	}
	return t, nil
}

// Apply flips img in place with probability Prob.
func (t *RandomFlip) Apply(img *Image, rng *rand.Rand) (*Image, error) {
	if rng == nil {
		return nil, errNeedRNG
	}
	if rng.Float64() >= t.Prob {
		return img, nil
	}
	switch t.Direction {
	case "horizontal":
		img.FlipHorizontal()
	case "vertical":
		img.FlipVertical()
	case "diagonal":
		img.FlipHorizontal()
		img.FlipVertical()
	}
	return img, nil
}
