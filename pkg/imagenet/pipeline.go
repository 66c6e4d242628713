package imagenet

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Transform is one pipeline step. Apply may modify img in place and may
// return it; rng is nil for deterministic pipelines, and a random transform
// given a nil rng returns an error.
type Transform interface {
	Apply(img *Image, rng *rand.Rand) (*Image, error)
}

// TransformFunc adapts a function to Transform.
type TransformFunc func(img *Image, rng *rand.Rand) (*Image, error)

// Apply calls f(img, rng).
func (f TransformFunc) Apply(img *Image, rng *rand.Rand) (*Image, error) { return f(img, rng) }

// TransformFactory builds a transform from its config dict. params is the
// dict without "type", as decoded from JSON (numbers are float64, lists
// []any). A factory must reject keys it does not know (see Params).
type TransformFactory func(p Params) (Transform, error)

// Registry maps config "type" names to factories. It is the extension
// point for transforms defined elsewhere (RandAugment, ...): copy
// DefaultRegistry, add entries, and call Registry.NewPipeline. There is no
// global registry.
type Registry map[string]TransformFactory

// DefaultRegistry returns a new registry holding this package's transforms:
// LoadImageFromFile, ResizeEdge, Resize, CenterCrop, RandomResizedCrop,
// RandomFlip and PackInputs (PackClsInputs is accepted as an alias).
func DefaultRegistry() Registry {
	return Registry{
		"LoadImageFromFile": newLoadImageFromFile,
		"ResizeEdge":        newResizeEdge,
		"Resize":            newResize,
		"CenterCrop":        newCenterCrop,
		"RandomResizedCrop": newRandomResizedCrop,
		"RandomFlip":        newRandomFlip,
		"PackInputs":        newPackInputs,
		"PackClsInputs":     newPackInputs,
	}
}

// Pipeline is a sequence of transforms built from a config's pipeline list.
type Pipeline struct {
	Names []string // the "type" of each step
	Steps []Transform
}

// NewPipeline builds a pipeline with DefaultRegistry.
func NewPipeline(steps []map[string]any) (*Pipeline, error) {
	return DefaultRegistry().NewPipeline(steps)
}

// NewPipeline builds a pipeline from config dicts such as
// {"type": "ResizeEdge", "scale": 256, "edge": "short", "backend": "pillow"}.
// An unknown type is an UnsupportedError naming it; a bad parameter is a
// FormatError naming the step and key.
func (r Registry) NewPipeline(steps []map[string]any) (*Pipeline, error) {
	p := &Pipeline{}
	for i, step := range steps {
		typ, ok := step["type"].(string)
		if !ok {
			return nil, FormatError(fmt.Sprintf("pipeline step %d: missing or non-string \"type\"", i))
		}
		f, ok := r[typ]
		if !ok {
			return nil, fmt.Errorf("pipeline step %d: %w", i, UnsupportedError(fmt.Sprintf("transform type %q", typ)))
		}
		params := Params{typ: typ, m: map[string]any{}, used: map[string]bool{}}
		for k, v := range step {
			if k != "type" {
				params.m[k] = v
			}
		}
		t, err := f(params)
		if err == nil {
			err = params.checkUnused()
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline step %d (%s): %w", i, typ, err)
		}
		p.Names = append(p.Names, typ)
		p.Steps = append(p.Steps, t)
	}
	return p, nil
}

// Apply runs every step in order. img may be modified.
//
// A ResizeEdge step directly followed by a CenterCrop step (the test
// pipeline of every MobileOne config) runs as one step that computes only
// the crop's window of the resized image: the same bytes, with about 1.7×
// less work on a 500×375 photo.
func (p *Pipeline) Apply(img *Image, rng *rand.Rand) (*Image, error) {
	return p.apply(img, rng, nil, nil)
}

// Decode decodes an image file's bytes as Decode does, for this pipeline
// only: when its first transform (after markers such as
// LoadImageFromFile) is the fused ResizeEdge+CenterCrop step, a JPEG is
// decoded only where that step reads (jpeg.DecodeRegion: the inverse DCT
// and colour conversion of the rest are skipped; a 640x427 photo resized
// to 256 and cropped to 224 reads about half its pixels). Apply on the
// result gives the bytes Apply gives on Decode(data). The image is for one
// Apply alone: Apply refuses it in a pipeline that would read more, and
// takes its buffer back for the next Decode once the resize has read it
// (the image is then empty).
func (p *Pipeline) Decode(data []byte) (*Image, error) {
	return decodeRegion(data, p.sourceRect)
}

// DecodeFile reads (ReadFile) and decodes an image file for this pipeline
// (Pipeline.Decode). Errors name the file.
func (p *Pipeline) DecodeFile(path string) (*Image, error) {
	return decodeFile(path, p.Decode)
}

// sourceRect reports the pixels of a w×h image the pipeline reads when
// that is known to be fewer than all: a pipeline that starts (after
// identity steps) with ResizeEdge directly followed by CenterCrop reads
// only the source window of the crop (Resizer.SourceRect).
func (p *Pipeline) sourceRect(w, h int) (image.Rectangle, bool) {
	i := 0
	for i < len(p.Steps) && p.Steps[i] == identity {
		i++
	}
	if i+1 >= len(p.Steps) {
		return image.Rectangle{}, false
	}
	re, ok := p.Steps[i].(*ResizeEdge)
	cc, ok2 := p.Steps[i+1].(*CenterCrop)
	if !ok || !ok2 {
		return image.Rectangle{}, false
	}
	rw, rh := ResizeEdgeSize(w, h, re.Scale, re.Edge)
	if rw <= 0 || rh <= 0 {
		return image.Rectangle{}, false // Apply reports the error
	}
	crop := CenterCropRect(rw, rh, cc.W, cc.H)
	if rw == w && rh == h {
		return crop, true
	}
	return cachedResizer(re.Filter, rw, rh, w, h, crop).SourceRect(), true
}

// Meta is the metainfo mmcv's transforms record beside the pixels and
// PackInputs keeps in the DataSample: the decoded and the final (h, w), and
// the (w, h) scale factors of the last resize (ResizeEdge, Resize), as
// mmcv.imresize returns them (new size / old size).
type Meta struct {
	OriShape, ImgShape [2]int
	ScaleFactor        [2]float64
	Scaled             bool // a resize ran: ScaleFactor is set
}

func (m *Meta) scaled(from *Image, w, h int) {
	if m != nil {
		m.ScaleFactor = [2]float64{float64(w) / float64(from.Width), float64(h) / float64(from.Height)}
		m.Scaled = true
	}
}

// apply is Apply; a fused ResizeEdge+CenterCrop step writes its output
// into buf's buffer when buf is not nil, so the caller must be done with
// the result before reusing buf.
// When meta is not nil it receives the sample's metainfo.
func (p *Pipeline) apply(img *Image, rng *rand.Rand, buf *Image, meta *Meta) (*Image, error) {
	var err error
	if !img.region.Empty() {
		if r, ok := p.sourceRect(img.Width, img.Height); !ok || !r.In(img.region) {
			return nil, fmt.Errorf("imagenet: an image decoded for the pixels %v only (Pipeline.Decode) given to a pipeline that reads more", img.region)
		}
	}
	if meta != nil {
		*meta = Meta{OriShape: [2]int{img.Height, img.Width}}
	}
	for i := 0; i < len(p.Steps); i++ {
		if re, ok := p.Steps[i].(*ResizeEdge); ok && i+1 < len(p.Steps) {
			if cc, ok := p.Steps[i+1].(*CenterCrop); ok {
				w, h := ResizeEdgeSize(img.Width, img.Height, re.Scale, re.Edge)
				in := img
				if img, err = re.applyWithCrop(img, cc, buf); err != nil {
					return nil, fmt.Errorf("%s: %w", p.Names[i], err)
				}
				meta.scaled(in, w, h)
				if img != in {
					in.recycle()
				}
				i++
				continue
			}
		}
		in := img
		img, err = p.Steps[i].Apply(img, rng)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Names[i], err)
		}
		switch p.Steps[i].(type) {
		case *ResizeEdge, *Resize:
			meta.scaled(in, img.Width, img.Height)
		}
	}
	if meta != nil {
		meta.ImgShape = [2]int{img.Height, img.Width}
	}
	return img, nil
}

// Params gives typed access to a transform's config dict and records
// which keys were read, so that misspelled keys are errors.
type Params struct {
	typ  string
	m    map[string]any
	used map[string]bool
}

// NewParams wraps a config dict (without "type") for a factory; useful in
// tests of extension transforms.
func NewParams(typ string, m map[string]any) Params {
	return Params{typ: typ, m: m, used: map[string]bool{}}
}

func (p Params) checkUnused() error {
	var bad []string
	for k := range p.m {
		if !p.used[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return FormatError(fmt.Sprintf("unknown parameter(s) %s", strings.Join(bad, ", ")))
	}
	return nil
}

// Has reports whether key is present (and not null).
func (p Params) Has(key string) bool {
	p.used[key] = true
	v, ok := p.m[key]
	return ok && v != nil
}

// Ignore marks keys as known but unused (metadata-only parameters).
func (p Params) Ignore(keys ...string) {
	for _, k := range keys {
		p.used[k] = true
	}
}

func (p Params) errorf(key, format string, args ...any) error {
	return FormatError(fmt.Sprintf("%q: ", key) + fmt.Sprintf(format, args...))
}

// Float returns a number parameter, or def when absent.
func (p Params) Float(key string, def float64) (float64, error) {
	if !p.Has(key) {
		return def, nil
	}
	f, ok := toFloat(p.m[key])
	if !ok {
		return 0, p.errorf(key, "want a number, got %T %v", p.m[key], p.m[key])
	}
	return f, nil
}

// Int returns an integer parameter, or def when absent.
func (p Params) Int(key string, def int) (int, error) {
	if !p.Has(key) {
		return def, nil
	}
	i, ok := toInt(p.m[key])
	if !ok {
		return 0, p.errorf(key, "want an integer, got %T %v", p.m[key], p.m[key])
	}
	return i, nil
}

// Bool returns a boolean parameter, or def when absent.
func (p Params) Bool(key string, def bool) (bool, error) {
	if !p.Has(key) {
		return def, nil
	}
	b, ok := p.m[key].(bool)
	if !ok {
		return false, p.errorf(key, "want a bool, got %T %v", p.m[key], p.m[key])
	}
	return b, nil
}

// String returns a string parameter, or def when absent.
func (p Params) String(key, def string) (string, error) {
	if !p.Has(key) {
		return def, nil
	}
	s, ok := p.m[key].(string)
	if !ok {
		return "", p.errorf(key, "want a string, got %T %v", p.m[key], p.m[key])
	}
	return s, nil
}

// IntPair returns an int or a 2-element list parameter as a pair (an int n
// gives (n, n)); ok is false when absent.
func (p Params) IntPair(key string) (pair [2]int, ok bool, err error) {
	if !p.Has(key) {
		return pair, false, nil
	}
	v := p.m[key]
	if i, isInt := toInt(v); isInt {
		return [2]int{i, i}, true, nil
	}
	l, isList := toList(v)
	if isList && len(l) == 2 {
		a, okA := toInt(l[0])
		b, okB := toInt(l[1])
		if okA && okB {
			return [2]int{a, b}, true, nil
		}
	}
	return pair, false, p.errorf(key, "want an integer or a pair of integers, got %v", v)
}

// FloatPair returns a 2-element number list parameter, or def when absent.
func (p Params) FloatPair(key string, def [2]float64) ([2]float64, error) {
	if !p.Has(key) {
		return def, nil
	}
	l, ok := toList(p.m[key])
	if ok && len(l) == 2 {
		a, okA := toFloat(l[0])
		b, okB := toFloat(l[1])
		if okA && okB {
			return [2]float64{a, b}, nil
		}
	}
	return def, p.errorf(key, "want a pair of numbers, got %v", p.m[key])
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	}
	return 0, false
}

func toInt(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case int32:
		return int(v), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v), true
		}
	}
	return 0, false
}

func toList(v any) ([]any, bool) {
	switch v := v.(type) {
	case []any:
		return v, true
	case []int:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = x
		}
		return l, true
	case []float64:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = x
		}
		return l, true
	}
	return nil, false
}
