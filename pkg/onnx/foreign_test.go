package onnx

import (
	"encoding/json"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/onnx/onnxpb"
	"github.com/mobileone-go/mobileone/pkg/onnx/ort"
)

// TestImportTorchExports maps files written by torch.onnx.export (from
// upstream mmpretrain's and timm's models, testdata/onnx/gen_fixtures.py)
// and checks our engine on their weights against the logits PyTorch
// computed: other exporters' node names, a Reshape fed by Shape/Gather/
// Concat instead of Flatten, opset 11.
func TestImportTorchExports(t *testing.T) {
	var want map[string]any
	b, err := os.ReadFile(fixtures.Testdata(t, "onnx/torch_logits.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	x := fixtures.ReadFloat32(t, fixtures.Testdata(t, "convert/input.bin"))
	for _, c := range []struct {
		name, in, out string
		batch         int
	}{
		{"mmpretrain_tiny_deploy", "input float32 [batch, 3, 32, 32]", "logits float32 [batch, 10]", 2},
		{"timm_tiny_fused", "x float32 [1, 3, 32, 32]", "y float32 [1, 10]", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			im, err := ReadFile(fixtures.Testdata(t, "onnx/"+c.name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if im.InputDesc() != c.in || im.OutputDesc() != c.out || im.ArchName != "custom" || im.Softmax || im.Preprocess {
				t.Errorf("mapped %s -> %s, arch %s", im.InputDesc(), im.OutputDesc(), im.ArchName)
			}
			got, err := im.Forward(ort.Tensor{Dims: []int{c.batch, 3, 32, 32}, F32: x[:c.batch*3*32*32]})
			if err != nil {
				t.Fatal(err)
			}
			var ref []float32
			for _, v := range want[c.name].([]any) {
				ref = append(ref, float32(v.(float64)))
			}
			d := MaxAbsDiff(got.Data, ref)
			t.Logf("our engine on the file's weights vs PyTorch (torch %v): max |logit diff| %.3g", want["torch_version"], d)
			if d > ortTolerance {
				t.Errorf("max |diff| %g > %g", d, ortTolerance)
			}
		})
	}
}

// TestImportReduceMean: the SE and neck pooling written as ReduceMean over
// (2, 3), with axes as attribute (opset < 18) or as input (opset 18), map
// to the same model; over other axes, or without keepdims in the SE, they
// do not.
func TestImportReduceMean(t *testing.T) {
	m := randomDeploy(t, "s4", 10, 3)
	base, err := Export(m, Options{Height: 32, Width: 32, Opset: 18, Normalizer: imagenet.ImageNetNormalizer()})
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(asInput bool, axes []int64) *onnxpb.ModelProto {
		mp := proto.Clone(base).(*onnxpb.ModelProto)
		mp.Graph.Initializer = append(mp.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String("axes"), Dims: []int64{int64(len(axes))},
			DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: axes})
		for _, n := range mp.Graph.Node {
			if n.GetOpType() != "GlobalAveragePool" {
				continue
			}
			n.OpType = proto.String("ReduceMean")
			if asInput {
				n.Input = append(n.Input, "axes")
			} else {
				n.Attribute = []*onnxpb.AttributeProto{attrInts("axes", axes...)}
			}
		}
		return mp
	}
	for _, asInput := range []bool{false, true} {
		im, err := Import(rewrite(asInput, []int64{2, 3}))
		if err != nil {
			t.Fatalf("axes as input %v: %v", asInput, err)
		}
		if d, err := CompareModels(im.Model, m, 2, 32, 32, 1); err != nil || d != 0 {
			t.Errorf("axes as input %v: max |diff| %g, %v", asInput, d, err)
		}
		if _, err := Import(rewrite(asInput, []int64{1, 2})); err == nil {
			t.Errorf("axes [1 2] as input %v: mapped", asInput)
		}
	}
}
