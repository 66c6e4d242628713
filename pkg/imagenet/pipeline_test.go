package imagenet

import (
	"errors"
	"image"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPipelineErrors(t *testing.T) {
	for _, c := range []struct {
		step map[string]any
		want string
	}{
		{map[string]any{"type": "RandAugment", "num_policies": 2.0}, `"RandAugment"`},
		{map[string]any{"scale": 256.0}, `"type"`},
		{map[string]any{"type": "ResizeEdge", "scale": 256.0}, `backend "cv2"`}, // upstream default backend
		{map[string]any{"type": "ResizeEdge", "scale": 256.0, "backend": "pillow", "edge": "diag"}, `"edge"`},
		{map[string]any{"type": "ResizeEdge", "scale": 25.5, "backend": "pillow"}, `"scale"`},
		{map[string]any{"type": "ResizeEdge", "scale": 256.0, "backend": "pillow", "interpolation": "nearest"}, "nearest"},
		{map[string]any{"type": "ResizeEdge", "scale": 256.0, "backend": "pillow", "sclae": 1.0}, "sclae"},
		{map[string]any{"type": "CenterCrop", "crop_size": []any{1.0, 2.0, 3.0}}, `"crop_size"`},
		{map[string]any{"type": "CenterCrop", "crop_size": 224.0, "auto_pad": true}, "auto_pad"},
		{map[string]any{"type": "RandomFlip", "prob": 1.5}, `"prob"`},
		{map[string]any{"type": "RandomResizedCrop", "scale": 224.0, "backend": "pillow", "crop_ratio_range": []any{1.0, 0.08}}, "(min, max)"},
		{map[string]any{"type": "LoadImageFromFile", "color_type": "grayscale"}, "grayscale"},
		{map[string]any{"type": "Resize", "backend": "pillow"}, "scale"},
	} {
		_, err := NewPipeline([]map[string]any{c.step})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to mention %s", c.step, err, c.want)
		}
	}
	_, err := NewPipeline([]map[string]any{{"type": "RandAugment"}})
	var ue UnsupportedError
	if !errors.As(err, &ue) {
		t.Errorf("unknown type: %T %v, want UnsupportedError", err, err)
	}
}

// TestRegistryExtension: another package adds a transform through a
// registry copy; the default registry is not changed.
func TestRegistryExtension(t *testing.T) {
	reg := DefaultRegistry()
	reg["Invert"] = func(p Params) (Transform, error) {
		level, err := p.Int("level", 255)
		if err != nil {
			return nil, err
		}
		return TransformFunc(func(img *Image, _ *rand.Rand) (*Image, error) {
			for i, v := range img.Pix {
				img.Pix[i] = byte(level) - v
			}
			return img, nil
		}), nil
	}
	p, err := reg.NewPipeline([]map[string]any{{"type": "Invert", "level": 255.0}, {"type": "PackInputs"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply(&Image{Width: 1, Height: 1, Pix: []byte{0, 10, 255}}, nil)
	if err != nil || string(out.Pix) != string([]byte{255, 245, 0}) {
		t.Fatalf("%v %v", out, err)
	}
	if _, err := NewPipeline([]map[string]any{{"type": "Invert"}}); err == nil {
		t.Error("DefaultRegistry was modified")
	}
	if _, err := reg.NewPipeline([]map[string]any{{"type": "Invert", "levle": 3.0}}); err == nil || !strings.Contains(err.Error(), "levle") {
		t.Errorf("unused parameter not reported: %v", err)
	}
}

func TestRandomTransformsNeedRNG(t *testing.T) {
	p, err := NewPipeline([]map[string]any{{"type": "RandomFlip", "prob": 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(NewImage(2, 2), nil); err == nil || !strings.Contains(err.Error(), "RandomFlip") {
		t.Errorf("nil rng: %v", err)
	}
}

func TestFlips(t *testing.T) {
	img := &Image{Width: 3, Height: 2, Pix: []byte{
		1, 1, 1, 2, 2, 2, 3, 3, 3,
		4, 4, 4, 5, 5, 5, 6, 6, 6}}
	h := img.Clone()
	h.FlipHorizontal()
	if string(h.Pix) != string([]byte{3, 3, 3, 2, 2, 2, 1, 1, 1, 6, 6, 6, 5, 5, 5, 4, 4, 4}) {
		t.Errorf("horizontal: %v", h.Pix)
	}
	v := img.Clone()
	v.FlipVertical()
	if string(v.Pix) != string([]byte{4, 4, 4, 5, 5, 5, 6, 6, 6, 1, 1, 1, 2, 2, 2, 3, 3, 3}) {
		t.Errorf("vertical: %v", v.Pix)
	}
	// prob 1 always flips, prob 0 never.
	for _, c := range []struct {
		prob float64
		want *Image
	}{{1, h}, {0, img}} {
		p, _ := NewPipeline([]map[string]any{{"type": "RandomFlip", "prob": c.prob, "direction": "horizontal"}})
		out, err := p.Apply(img.Clone(), rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		diffPixels(t, "RandomFlip", out, c.want)
	}
}

// TestRandomResizedCropRect: boxes stay inside the image, respect the
// area and aspect ranges (up to rounding), and the fallback matches
// upstream's central crop.
func TestRandomResizedCropRect(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	def := DefaultRandomResizedCropParams()
	for i := 0; i < 2000; i++ {
		w, h := 1+rng.IntN(500), 1+rng.IntN(500)
		r := RandomResizedCropRect(w, h, def, rng)
		if r.Empty() || !r.In(image.Rect(0, 0, w, h)) {
			t.Fatalf("%dx%d: box %v", w, h, r)
		}
	}
	// No attempts: the fallback. Tall image (ratio < 3/4): full width,
	// th = round(w / (3/4)), centred.
	noTry := def
	noTry.MaxAttempts = 0
	if got, want := RandomResizedCropRect(100, 400, noTry, rng), image.Rect(0, 133, 100, 266); got != want {
		t.Errorf("tall fallback %v, want %v", got, want) // th = round(133.33) = 133, oy = (400-133)//2 = 133
	}
	if got, want := RandomResizedCropRect(400, 100, noTry, rng), image.Rect(133, 0, 266, 100); got != want {
		t.Errorf("wide fallback %v, want %v", got, want)
	}
	if got, want := RandomResizedCropRect(120, 100, noTry, rng), image.Rect(0, 0, 120, 100); got != want {
		t.Errorf("in-range fallback %v, want %v", got, want)
	}
	// The transform's output size is scale, given as (h, w) upstream.
	p, err := NewPipeline([]map[string]any{{"type": "RandomResizedCrop", "scale": []any{30.0, 50.0}, "backend": "pillow"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply(randomImage(rng, 200, 150), rng)
	if err != nil || out.Width != 50 || out.Height != 30 {
		t.Fatalf("RandomResizedCrop (h=30, w=50): %v %v", out, err)
	}
}

func TestResizeTransform(t *testing.T) {
	src := randomImage(rand.New(rand.NewPCG(1, 1)), 300, 200)
	for _, c := range []struct {
		step         map[string]any
		wantW, wantH int
	}{
		{map[string]any{"type": "Resize", "scale": []any{64.0, 32.0}, "backend": "pillow"}, 64, 32},
		{map[string]any{"type": "Resize", "scale": 64.0, "backend": "pillow"}, 64, 64},
		// keep_ratio: factor min(100/300, 50/200) = 0.25 → 75×50
		{map[string]any{"type": "Resize", "scale": []any{100.0, 50.0}, "keep_ratio": true, "backend": "pillow"}, 75, 50},
		{map[string]any{"type": "Resize", "scale_factor": 0.5, "backend": "pillow"}, 150, 100},
	} {
		p, err := NewPipeline([]map[string]any{c.step})
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Apply(src, nil)
		if err != nil || out.Width != c.wantW || out.Height != c.wantH {
			t.Errorf("%v: %dx%d %v, want %dx%d", c.step, out.Width, out.Height, err, c.wantW, c.wantH)
		}
	}
}
