package onnx

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx/onnxpb"
)

// FuzzImport: any bytes that decode as a ModelProto either map to a model
// or give an error; Import never panics.
func FuzzImport(f *testing.F) {
	// A small arch keeps the seeds small (a few KB): 8-16 channels, SE in
	// stage4.
	m, err := model.New(model.Config{Deploy: true, NumClasses: 3, Arch: model.Arch{NumBlocks: [4]int{1, 1, 1, 1},
		WidthFactor: [4]float64{0.125, 0.125, 0.0625, 0.03125}, NumConvBranches: [4]int{1, 1, 1, 1}, NumSEBlocks: [4]int{0, 0, 0, 1}}})
	if err != nil {
		f.Fatal(err)
	}
	for _, o := range []Options{{Height: 8, Width: 8}, {DynamicShape: true, Softmax: true, Preprocess: true, Normalizer: imagenet.ImageNetNormalizer()}} {
		mp, err := Export(m, o)
		if err != nil {
			f.Fatal(err)
		}
		b, err := Marshal(mp)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mp := &onnxpb.ModelProto{}
		if proto.Unmarshal(b, mp) != nil {
			return
		}
		im, err := Import(mp)
		if err == nil && im.Model == nil {
			t.Fatal("no error and no model")
		}
	})
}
