// Package onnx writes a MobileOne ImageClassifier as an ONNX model (the
// reparameterized, single-branch deploy graph) and reads such a model back
// into a model.ImageClassifier. The protobuf types are ONNX's own schema
// (package onnxpb, generated from onnx/onnx.proto).
//
// The exported graph, per MobileOneBlock of the deploy model:
//
//	Conv(branch_reparam) [-> SE: GlobalAveragePool, Conv, Relu, Conv, Sigmoid, Mul] -> Relu
//
// then GlobalAveragePool, Flatten and Gemm (the LinearClsHead's fc), and a
// Softmax when scores are asked for. Initializers are named after the
// checkpoint keys (backbone.stage0.branch_reparam.weight, head.fc.bias, ...).
package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx/onnxpb"
)

// The names of the graph's inputs and outputs.
const (
	InputName  = "input"  // float32 [batch, 3, H, W], normalized
	ImageName  = "image"  // uint8 [batch, H, W, 3], BGR (with Preprocess)
	LogitsName = "logits" // float32 [batch, num_classes]
	ScoresName = "scores" // float32 [batch, num_classes], softmax of the logits
)

// Dimension names of the dynamic axes.
const (
	BatchDim  = "batch"
	HeightDim = "height"
	WidthDim  = "width"
)

// Metadata property keys written into ModelProto.metadata_props.
const (
	MetaClasses    = "classes"    // JSON array of the class names, index order
	MetaMean       = "mean"       // JSON array, data_preprocessor mean (output channel order)
	MetaStd        = "std"        // JSON array, data_preprocessor std
	MetaToRGB      = "to_rgb"     // "true" or "false"
	MetaPreprocess = "preprocess" // "in_graph" (uint8 BGR input) or "none" (normalized input)
	MetaArch       = "arch"       // JSON of model.Arch
)

// MinOpset and MaxOpset bound the supported default-domain opsets; every
// operator the graph uses has had its current semantics since opset 11
// (Softmax changed at 13, identically for the 2-D input used here).
const (
	MinOpset     = 11
	MaxOpset     = 18
	DefaultOpset = 13
)

// irVersion is the IR version of the ONNX release that introduced each opset
// (onnx/docs/Versioning.md), the lowest runtimes accept with it.
var irVersion = map[int]int64{11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8}

// Options control Export.
type Options struct {
	Opset int // default-domain opset, MinOpset..MaxOpset (0 = DefaultOpset)
	// Height and Width are the input's spatial size; with DynamicShape they
	// are only recorded as the intended size (metadata) and the axes are
	// symbolic.
	Height, Width int
	StaticBatch   bool // fixed batch size 1 instead of a symbolic batch axis
	DynamicShape  bool // symbolic height and width axes
	Softmax       bool // output softmax scores instead of logits
	// Preprocess puts the data_preprocessor into the graph: the input is
	// the uint8 BGR image as decoded (HWC), cast, optionally channel
	// reversed (Normalizer.ToRGB), minus mean, divided by std.
	Preprocess bool
	Normalizer imagenet.Normalizer
	Classes    []string // written as the "classes" metadata property
	// Producer is recorded as producer_version (producer_name is mobileone).
	Producer  string
	DocString string
}

// Error is a problem with the export request or the model.
type Error struct{ Msg string }

func (e *Error) Error() string { return "onnx: " + e.Msg }

func errorf(format string, a ...any) error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// Export builds the ONNX model of m, which must be the deploy
// (reparameterized) graph.
func Export(m *model.ImageClassifier, o Options) (*onnxpb.ModelProto, error) {
	if o.Opset == 0 {
		o.Opset = DefaultOpset
	}
	if o.Opset < MinOpset || o.Opset > MaxOpset {
		return nil, errorf("opset %d is not supported (use %d..%d)", o.Opset, MinOpset, MaxOpset)
	}
	if !m.Deployed() {
		return nil, errorf("the model is the train-time (multi-branch) graph: reparameterize it first")
	}
	if !o.DynamicShape && (o.Height < 1 || o.Width < 1) {
		return nil, errorf("input size %dx%d: height and width must be positive", o.Height, o.Width)
	}
	if o.Classes != nil && len(o.Classes) != m.NumClasses() {
		return nil, errorf("%d class names for a model with %d classes", len(o.Classes), m.NumClasses())
	}
	b := &builder{g: &onnxpb.GraphProto{Name: proto.String("mobileone")}}
	batch, h, w := dim(BatchDim, 1, !o.StaticBatch), dim(HeightDim, o.Height, o.DynamicShape), dim(WidthDim, o.Width, o.DynamicShape)
	x := InputName
	if o.Preprocess {
		b.g.Input = append(b.g.Input, valueInfo(ImageName, onnxpb.TensorProto_UINT8, batch, h, w, dim("", 3, false)))
		x = b.preprocess(ImageName, o.Normalizer)
	} else {
		b.g.Input = append(b.g.Input, valueInfo(InputName, onnxpb.TensorProto_FLOAT, batch, dim("", 3, false), h, w))
	}
	blocks, names := m.Blocks()
	for i, blk := range blocks {
		x = b.block(x, blk, names[i])
	}
	fc := m.Head.FC
	x = b.node("GlobalAveragePool", "neck.gap", []string{x}, "neck")
	x = b.node("Flatten", "neck.flatten", []string{x}, "neck.flat", attrInt("axis", 1))
	out := LogitsName
	if o.Softmax {
		out = "head.logits"
	}
	b.node("Gemm", "head.fc", []string{x, b.init("head.fc.weight", fc.Weight), b.init("head.fc.bias", fc.Bias)}, out,
		attrFloat("alpha", 1), attrFloat("beta", 1), attrInt("transB", 1))
	if o.Softmax {
		out = b.node("Softmax", "head.softmax", []string{out}, ScoresName, attrInt("axis", 1))
	}
	b.g.Output = append(b.g.Output, valueInfo(out, onnxpb.TensorProto_FLOAT, batch, dim("", m.NumClasses(), false)))

	mp := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(irVersion[o.Opset]),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(o.Opset))}},
		ProducerName:    proto.String("mobileone"),
		ProducerVersion: proto.String(o.Producer),
		DocString:       proto.String(o.DocString),
		Graph:           b.g,
	}
	meta := func(k string, v any) {
		s, ok := v.(string)
		if !ok {
			j, _ := json.Marshal(v)
			s = string(j)
		}
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(s)})
	}
	if o.Classes != nil {
		meta(MetaClasses, o.Classes)
	}
	meta(MetaMean, o.Normalizer.Mean)
	meta(MetaStd, o.Normalizer.Std)
	meta(MetaToRGB, fmt.Sprint(o.Normalizer.ToRGB))
	if o.Preprocess {
		meta(MetaPreprocess, "in_graph")
	} else {
		meta(MetaPreprocess, "none")
	}
	meta(MetaArch, m.Config.Arch)
	return mp, nil
}

// Marshal encodes mp deterministically (same model, same bytes).
func Marshal(mp *onnxpb.ModelProto) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

// WriteFile encodes mp and writes it to path atomically.
func WriteFile(path string, mp *onnxpb.ModelProto) error {
	data, err := Marshal(mp)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteFile(path, data)
}

// builder appends nodes and initializers to a graph.
type builder struct{ g *onnxpb.GraphProto }

// init adds t as a float32 initializer and returns its name.
func (b *builder) init(name string, t *model.Tensor) string {
	return b.initRaw(name, t.Shape, t.Data)
}

func (b *builder) initRaw(name string, shape []int, data []float32) string {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims64(shape), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw,
	})
	return name
}

// node adds one node named name (dots become slashes, as torch.onnx names
// nodes after modules) and returns its single output.
func (b *builder) node(op, name string, inputs []string, output string, attrs ...*onnxpb.AttributeProto) string {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{
		OpType: proto.String(op), Name: proto.String("/" + strings.ReplaceAll(name, ".", "/") + "/" + op),
		Input: inputs, Output: []string{output}, Attribute: attrs,
	})
	return output
}

func (b *builder) conv(x string, c *model.Conv2d, key, output string) string {
	p := int64(c.Padding)
	return b.node("Conv", key, []string{x, b.init(key+".weight", c.Weight), b.init(key+".bias", c.Bias)}, output,
		attrInts("dilations", 1, 1), attrInt("group", int64(c.Groups)), attrInts("kernel_shape", int64(c.K), int64(c.K)),
		attrInts("pads", p, p, p, p), attrInts("strides", int64(c.Stride), int64(c.Stride)))
}

// block adds one deploy MobileOneBlock: conv, SE when present, ReLU.
func (b *builder) block(x string, blk *model.MobileOneBlock, key string) string {
	x = b.conv(x, blk.BranchReparam, key+".branch_reparam", key+".conv")
	if se := blk.SE; se != nil {
		s := b.node("GlobalAveragePool", key+".se.gap", []string{x}, key+".se.pool")
		s = b.conv(s, se.Conv1, key+".se.conv1.conv", key+".se.conv1")
		s = b.node("Relu", key+".se.conv1.activate", []string{s}, key+".se.relu")
		s = b.conv(s, se.Conv2, key+".se.conv2.conv", key+".se.conv2")
		s = b.node("Sigmoid", key+".se.conv2.activate", []string{s}, key+".se.sigmoid")
		x = b.node("Mul", key+".se", []string{x, s}, key+".se")
	}
	return b.node("Relu", key+".act", []string{x}, key)
}

// preprocess adds the data_preprocessor for a uint8 [N, H, W, 3] BGR input
// and returns the normalized float32 [N, 3, H, W] tensor: the same float32
// steps as imagenet.Normalizer (cast, subtract, true division).
func (b *builder) preprocess(x string, n imagenet.Normalizer) string {
	x = b.node("Cast", "data_preprocessor.cast", []string{x}, "data_preprocessor.float", attrInt("to", int64(onnxpb.TensorProto_FLOAT)))
	x = b.node("Transpose", "data_preprocessor.transpose", []string{x}, "data_preprocessor.chw", attrInts("perm", 0, 3, 1, 2))
	if n.ToRGB {
		idx := &onnxpb.TensorProto{Name: proto.String("data_preprocessor.bgr_to_rgb"), Dims: []int64{3},
			DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{2, 1, 0}}
		b.g.Initializer = append(b.g.Initializer, idx)
		x = b.node("Gather", "data_preprocessor.to_rgb", []string{x, idx.GetName()}, "data_preprocessor.rgb", attrInt("axis", 1))
	}
	mean := b.initRaw("data_preprocessor.mean", []int{1, 3, 1, 1}, n.Mean[:])
	std := b.initRaw("data_preprocessor.std", []int{1, 3, 1, 1}, n.Std[:])
	x = b.node("Sub", "data_preprocessor.sub", []string{x, mean}, "data_preprocessor.centered")
	return b.node("Div", "data_preprocessor.div", []string{x, std}, InputName)
}

func dims64(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}

// dim is a fixed dimension, or the symbolic one named param when dynamic.
func dim(param string, v int, dynamic bool) *onnxpb.TensorShapeProto_Dimension {
	if dynamic {
		return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: param}}
	}
	return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}}
}

func valueInfo(name string, elem onnxpb.TensorProto_DataType, dims ...*onnxpb.TensorShapeProto_Dimension) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: &onnxpb.TensorShapeProto{Dim: dims}},
	}}}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}
