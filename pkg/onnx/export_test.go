package onnx

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx/onnxpb"
)

// roundTrip exports m, encodes, decodes and maps the model back.
func roundTrip(t *testing.T, m *model.ImageClassifier, o Options) *Imported {
	t.Helper()
	mp, err := Export(m, o)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Marshal(mp)
	if !bytes.Equal(data, again) {
		t.Fatal("Marshal is not deterministic")
	}
	back := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, back); err != nil {
		t.Fatal(err)
	}
	im, err := Import(back)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestRoundTrip: Import(Export(m)) is m, bit for bit, for every built-in
// arch (s4 has SE layers) and the custom tiny arch, with and without the
// in-graph preprocessing.
func TestRoundTrip(t *testing.T) {
	tiny, classes := tinyDeploy(t)
	for _, c := range []struct {
		name string
		m    *model.ImageClassifier
		o    Options
		in   string
		out  string
	}{
		{"s0", randomDeploy(t, "s0", 1000, 1), Options{Height: 224, Width: 224}, "input float32 [batch, 3, 224, 224]", "logits float32 [batch, 1000]"},
		{"s1", randomDeploy(t, "s1", 7, 2), Options{Opset: 11, Height: 256, Width: 192, StaticBatch: true}, "input float32 [1, 3, 256, 192]", "logits float32 [1, 7]"},
		{"s2", randomDeploy(t, "s2", 1000, 3), Options{Opset: 18, DynamicShape: true, Softmax: true}, "input float32 [batch, 3, height, width]", "scores float32 [batch, 1000]"},
		{"s3", randomDeploy(t, "s3", 1000, 4), Options{Height: 224, Width: 224, Preprocess: true, Normalizer: imagenet.ImageNetNormalizer()}, "image uint8 [batch, 224, 224, 3]", "logits float32 [batch, 1000]"},
		{"s4", randomDeploy(t, "s4", 1000, 5), Options{Height: 224, Width: 224}, "input float32 [batch, 3, 224, 224]", "logits float32 [batch, 1000]"},
		{"custom", tiny, Options{Height: 64, Width: 64, Classes: classes, Preprocess: true, Normalizer: imagenet.Normalizer{Mean: [3]float32{1, 2, 3}, Std: [3]float32{4, 5, 6}}}, "image uint8 [batch, 64, 64, 3]", "logits float32 [batch, 10]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			im := roundTrip(t, c.m, c.o)
			if im.ArchName != c.name || im.InputDesc() != c.in || im.OutputDesc() != c.out || im.Softmax != c.o.Softmax || im.Preprocess != c.o.Preprocess {
				t.Errorf("got arch %s, %s -> %s (softmax %v, preprocess %v)", im.ArchName, im.InputDesc(), im.OutputDesc(), im.Softmax, im.Preprocess)
			}
			if c.o.Preprocess && im.Normalizer != c.o.Normalizer {
				t.Errorf("normalizer %+v, want %+v", im.Normalizer, c.o.Normalizer)
			}
			if im.Model.Config.Arch != c.m.Config.Arch {
				t.Errorf("arch %+v, want %+v", im.Model.Config.Arch, c.m.Config.Arch)
			}
			if strings.Join(im.Classes, ",") != strings.Join(c.o.Classes, ",") {
				t.Errorf("classes %q, want %q", im.Classes, c.o.Classes)
			}
			want, got := c.m.StateDict(), im.Model.StateDict()
			if len(want) != len(got) {
				t.Fatalf("%d state dict entries, want %d", len(got), len(want))
			}
			for i, e := range want {
				if got[i].Key != e.Key || MaxAbsDiff(got[i].Tensor.Data, e.Tensor.Data) != 0 {
					t.Fatalf("%s differs after the round trip", e.Key)
				}
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	m := randomDeploy(t, "s0", 10, 1)
	train, _ := model.New(model.Config{Arch: model.ArchZoo["s0"], NumClasses: 10})
	for _, c := range []struct {
		m    *model.ImageClassifier
		o    Options
		want string
	}{
		{m, Options{Opset: 10, Height: 1, Width: 1}, "opset 10 is not supported"},
		{m, Options{Opset: 19, Height: 1, Width: 1}, "opset 19 is not supported"},
		{m, Options{}, "height and width must be positive"},
		{m, Options{Height: 8, Width: 8, Classes: []string{"a"}}, "1 class names for a model with 10 classes"},
		{train, Options{Height: 8, Width: 8}, "reparameterize it first"},
	} {
		_, err := Export(c.m, c.o)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Export(%+v) = %v, want an *Error with %q", c.o, err, c.want)
		}
	}
}

// TestImportErrors: graphs that are not a MobileOne deploy classifier get
// an error naming the node that does not fit.
func TestImportErrors(t *testing.T) {
	m := randomDeploy(t, "s4", 10, 1)
	base, err := Export(m, Options{Height: 32, Width: 32})
	if err != nil {
		t.Fatal(err)
	}
	find := func(mp *onnxpb.ModelProto, name string) *onnxpb.NodeProto {
		for _, n := range mp.GetGraph().GetNode() {
			if n.GetName() == name {
				return n
			}
		}
		t.Fatalf("no node %s", name)
		return nil
	}
	for _, c := range []struct {
		name string
		edit func(mp *onnxpb.ModelProto)
		want string
	}{
		{"batchnorm", func(mp *onnxpb.ModelProto) {
			find(mp, "/backbone/stage1/0/act/Relu").OpType = proto.String("BatchNormalization")
		}, "node /backbone/stage1/0/act/Relu (BatchNormalization): expected Relu"},
		{"dilation", func(mp *onnxpb.ModelProto) {
			find(mp, "/backbone/stage2/1/branch_reparam/Conv").Attribute[0] = attrInts("dilations", 2, 2)
		}, "dilations [2 2] is not supported"},
		{"groups", func(mp *onnxpb.ModelProto) {
			n := find(mp, "/backbone/stage0/branch_reparam/Conv")
			n.Attribute[1] = attrInt("group", 3)
		}, "conv 9->64 k3 s2 p1 g3 where MobileOne's backbone.stage0.branch_reparam is 3->64 k3 s2 p1 g1"},
		{"weight from input", func(mp *onnxpb.ModelProto) {
			find(mp, "/head/fc/Gemm").Input[1] = "neck.flat"
		}, "value neck.flat is read by 2 nodes"},
		{"two outputs", func(mp *onnxpb.ModelProto) {
			mp.Graph.Output = append(mp.Graph.Output, mp.Graph.Output[0])
		}, "1 inputs and 2 outputs"},
		{"external data", func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer[0].DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		}, "external data is not supported"},
		{"double weights", func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer[0].DataType = proto.Int32(int32(onnxpb.TensorProto_DOUBLE))
		}, "data type DOUBLE"},
		{"SE pool without output", func(mp *onnxpb.ModelProto) {
			find(mp, "/backbone/stage4/1/se/gap/GlobalAveragePool").Output = nil
		}, "node /backbone/stage4/1/se/gap/GlobalAveragePool (GlobalAveragePool) has 0 outputs"},
		{"SE mul with two outputs", func(mp *onnxpb.ModelProto) {
			n := find(mp, "/backbone/stage4/1/se/Mul")
			n.Output = append(n.Output, "extra")
		}, "node /backbone/stage4/1/se/Mul (Mul) has 2 outputs"},
		{"no SE on the pointwise conv", func(mp *onnxpb.ModelProto) {
			// stage4's single (dw, pw) pair has SE; cut it out of the pw conv
			var keep []*onnxpb.NodeProto
			for _, n := range mp.Graph.Node {
				if strings.HasPrefix(n.GetName(), "/backbone/stage4/1/se/") {
					continue
				}
				keep = append(keep, n)
			}
			mp.Graph.Node = keep
			find(mp, "/backbone/stage4/1/act/Relu").Input[0] = "backbone.stage4.1.conv"
		}, "SE on only one conv of the pair"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mp := proto.Clone(base).(*onnxpb.ModelProto)
			c.edit(mp)
			_, err := Import(mp)
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Import = %v, want an *Error with %q", err, c.want)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/junk.onnx"
	if err := writeBytes(p, []byte("not a protobuf \xff\xff\xff")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), p+": not an ONNX model") {
		t.Errorf("ReadFile(junk) = %v", err)
	}
	if _, err := ReadFile(dir + "/missing.onnx"); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("ReadFile(missing) = %v", err)
	}
}
