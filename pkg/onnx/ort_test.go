package onnx

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx/ort"
)

// ortTolerance is the largest |logit difference| accepted between ONNX
// Runtime running the exported file and our engine running the model
// (issue 12); both compute in float32, in different orders.
const ortTolerance = 1e-4

// TestORTMatchesEngine exports each model, runs the file in ONNX Runtime
// and compares its outputs with our engine's on the same input.
func TestORTMatchesEngine(t *testing.T) {
	rt := needORT(t)
	type tc struct {
		name  string
		model func(t *testing.T) (*model.ImageClassifier, []string)
		opts  Options
		batch int
		h, w  int // run size (the export size unless DynamicShape)
	}
	tiny := func(t *testing.T) (*model.ImageClassifier, []string) { return tinyDeploy(t) }
	random := func(arch string, seed int64) func(t *testing.T) (*model.ImageClassifier, []string) {
		return func(t *testing.T) (*model.ImageClassifier, []string) { return randomDeploy(t, arch, 1000, seed), nil }
	}
	shared := func(config, file string) func(t *testing.T) (*model.ImageClassifier, []string) {
		return func(t *testing.T) (*model.ImageClassifier, []string) {
			return loadDeploy(t, config, fixtures.Shared(t, "checkpoints/"+file))
		}
	}
	std := func(opset int) Options {
		return Options{Opset: opset, Height: 224, Width: 224, Normalizer: imagenet.ImageNetNormalizer()}
	}
	var cases []tc
	for opset := MinOpset; opset <= MaxOpset; opset++ {
		cases = append(cases, tc{fmt.Sprintf("tiny_train_fused/opset%d/b1", opset), tiny, std(opset), 1, 224, 224})
	}
	dyn := std(13)
	dyn.DynamicShape, dyn.Softmax = true, true
	static := Options{Opset: 12, Height: 96, Width: 128, StaticBatch: true}
	cases = append(cases,
		tc{"tiny_train_fused/opset13/b9", tiny, std(13), 9, 224, 224},
		tc{"tiny_train_fused/dynamic_softmax/b9_160x192", tiny, dyn, 9, 160, 192},
		tc{"tiny_train_fused/static_96x128/b1", tiny, static, 1, 96, 128},
		tc{"s0_deploy/opset13/b1", shared("mobileone-s0_deploy_8xb32_in1k", "s0_deploy.pth"), std(13), 1, 224, 224},
		tc{"s0_deploy/opset13/b9", shared("mobileone-s0_deploy_8xb32_in1k", "s0_deploy.pth"), std(13), 9, 224, 224},
		tc{"s0_train_fused/opset17/b1", shared("mobileone-s0_deploy_8xb32_in1k", "s0_train.pth"), std(17), 1, 224, 224},
		tc{"s1_train_fused/opset11/b1", shared("mobileone-s1_deploy_8xb32_in1k", "s1_train.pth"), std(11), 1, 224, 224},
		tc{"s2_random/opset13/b9", random("s2", 2), std(13), 9, 224, 224},
		tc{"s3_random/opset15/b1", random("s3", 3), std(15), 1, 224, 224},
		tc{"s4_random/opset18/b1", random("s4", 4), std(18), 1, 224, 224},
	)
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, classes := c.model(t)
			o := c.opts
			o.Classes = classes
			path := writeModel(t, dir, fmt.Sprintf("m%d.onnx", i), m, o)
			x := RandomInput(c.batch, c.h, c.w, uint64(i))
			want, err := m.NewPredictor().Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if o.Softmax {
				want = model.Softmax(want)
			}
			res, err := rt.Run(context.Background(), path, 2, ort.Tensor{Name: InputName, Dims: x.Shape, F32: x.Data})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Outputs[0]
			wantName := LogitsName
			if o.Softmax {
				wantName = ScoresName
			}
			if got.Name != wantName || !slices.Equal(got.Dims, want.Shape) {
				t.Fatalf("ONNX Runtime output %s %v, want %s %v", got.Name, got.Dims, wantName, want.Shape)
			}
			d := MaxAbsDiff(got.F32, want.Data)
			lo, hi := slices.Min(want.Data), slices.Max(want.Data)
			t.Logf("ONNX Runtime %s vs engine: max |diff| %.3g (outputs in [%.3g, %.3g])", res.Version, d, lo, hi)
			if d > ortTolerance {
				t.Errorf("max |diff| %g > %g", d, ortTolerance)
			}
			if hi-lo < 1 && !o.Softmax {
				t.Errorf("logits span only [%g, %g]: too flat for the comparison to mean anything", lo, hi)
			}
		})
	}
}

// TestORTWithPreprocess feeds ONNX Runtime the uint8 BGR crops of real
// photos and checks the in-graph normalization against imagenet.Normalizer
// followed by our engine.
func TestORTWithPreprocess(t *testing.T) {
	rt := needORT(t)
	m, classes := tinyDeploy(t)
	norm := imagenet.ImageNetNormalizer()
	pipe, err := imagenet.NewPipeline([]map[string]any{
		{"type": "ResizeEdge", "scale": 256, "edge": "short", "backend": "pillow", "interpolation": "bilinear"},
		{"type": "CenterCrop", "crop_size": 224},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := writeModel(t, t.TempDir(), "pre.onnx", m, Options{Height: 224, Width: 224, Preprocess: true, Normalizer: norm, Classes: classes})
	var pix []byte
	var chw []float32
	photos := []string{"imagenet/skimage_chelsea.png", "imagenet/skimage_camera.png", "imagenet/gomod_go-turns-two-280x360.jpeg"}
	for _, p := range photos {
		img, err := imagenet.DecodeFile(fixtures.Testdata(t, p))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = pipe.Apply(img, nil); err != nil {
			t.Fatal(err)
		}
		pix = append(pix, img.Pix...)
		one := make([]float32, 3*224*224)
		norm.ToCHW(one, img)
		chw = append(chw, one...)
	}
	n := len(photos)
	want, err := m.NewPredictor().Forward(&model.Tensor{Shape: []int{n, 3, 224, 224}, Data: chw})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rt.Run(context.Background(), path, 2, ort.Tensor{Name: ImageName, Dims: []int{n, 224, 224, 3}, U8: pix})
	if err != nil {
		t.Fatal(err)
	}
	d := MaxAbsDiff(res.Outputs[0].F32, want.Data)
	t.Logf("ONNX Runtime (uint8 input, in-graph preprocessing) vs Normalizer+engine on %d photos: max |diff| %.3g", n, d)
	if d > ortTolerance {
		t.Errorf("max |diff| %g > %g", d, ortTolerance)
	}
}

// TestChecker runs onnx.checker.check_model(full_check=True) on every
// opset and every input/output variant, and on an arch with SE layers.
func TestChecker(t *testing.T) {
	m, classes := tinyDeploy(t)
	dir := t.TempDir()
	var files []string
	for opset := MinOpset; opset <= MaxOpset; opset++ {
		for v, o := range []Options{
			{Height: 224, Width: 224},
			{Height: 160, Width: 192, StaticBatch: true, Softmax: true},
			{DynamicShape: true, Preprocess: true, Normalizer: imagenet.ImageNetNormalizer()},
		} {
			o.Opset, o.Classes = opset, classes
			files = append(files, writeModel(t, dir, fmt.Sprintf("tiny_%d_%d.onnx", opset, v), m, o))
		}
	}
	files = append(files, writeModel(t, dir, "s4.onnx", randomDeploy(t, "s4", 1000, 1), Options{Height: 224, Width: 224}))
	checkONNX(t, files...)
}
