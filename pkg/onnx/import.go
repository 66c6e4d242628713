package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx/onnxpb"
)

// Imported is an ONNX file mapped back to a deploy ImageClassifier.
type Imported struct {
	Model    *model.ImageClassifier
	ArchName string // the ArchZoo entry with the same structure, or "custom"
	Opset    int64
	Producer string // producer_name and producer_version
	Input    Value
	Output   Value
	Softmax  bool // the output is softmax scores
	// Preprocess reports a uint8 BGR HWC input normalized in the graph by
	// Normalizer.
	Preprocess bool
	Normalizer imagenet.Normalizer
	Classes    []string // the "classes" metadata property, when present
}

// Value is a graph input or output: name, element type and dimensions
// (a symbolic dimension has Dims[i] = -1 and its name in Params[i]).
type Value struct {
	Name   string
	Elem   string
	Dims   []int64
	Params []string
}

func (v Value) String() string {
	parts := make([]string, len(v.Dims))
	for i, d := range v.Dims {
		if d < 0 {
			parts[i] = v.Params[i]
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return fmt.Sprintf("%s %s [%s]", v.Name, v.Elem, strings.Join(parts, ", "))
}

// InputDesc describes the graph input ("input float32 [batch, 3, 224, 224]").
func (im *Imported) InputDesc() string { return im.Input.String() }

// OutputDesc describes the graph output.
func (im *Imported) OutputDesc() string { return im.Output.String() }

// ReadFile parses an ONNX file and maps it with Import. Errors name path.
func ReadFile(path string) (*Imported, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mp := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		return nil, fmt.Errorf("%s: not an ONNX model: %v", path, err)
	}
	if mp.GetGraph() == nil {
		return nil, fmt.Errorf("%s: not an ONNX model: no graph", path)
	}
	im, err := Import(mp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return im, nil
}

// Import maps the graph of mp back to a MobileOne deploy model: the
// structure Export writes (also with another exporter's node and
// initializer names, Constant nodes for weights, Conv without bias, ReduceMean
// for the pooling, Reshape for the flatten, MatMul+Add for the fc). A graph
// that is not a MobileOne deploy classifier is an *Error naming the first
// node that does not fit.
func Import(mp *onnxpb.ModelProto) (*Imported, error) {
	g := mp.GetGraph()
	im := &Imported{Producer: strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion())}
	for _, op := range mp.GetOpsetImport() {
		if op.GetDomain() == "" || op.GetDomain() == "ai.onnx" {
			im.Opset = op.GetVersion()
		}
	}
	w := newWalker(g)
	var inputs []*onnxpb.ValueInfoProto
	for _, in := range g.GetInput() {
		if _, isInit := w.consts[in.GetName()]; !isInit {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 || len(g.GetOutput()) != 1 {
		return nil, errorf("the graph has %d inputs and %d outputs; a MobileOne classifier has one of each", len(inputs), len(g.GetOutput()))
	}
	im.Input, im.Output = valueOf(inputs[0]), valueOf(g.GetOutput()[0])
	x := im.Input.Name
	var err error
	switch im.Input.Elem {
	case "uint8":
		im.Preprocess = true
		if x, im.Normalizer, err = w.preprocess(x); err != nil {
			return nil, err
		}
	case "float32":
	default:
		return nil, errorf("input %s has element type %s (want float32, or uint8 with the preprocessing in the graph)", im.Input.Name, im.Input.Elem)
	}
	var blocks []*block
	for {
		n, err := w.next(x)
		if err != nil {
			return nil, err
		}
		if n.GetOpType() != "Conv" {
			break
		}
		blk, out, err := w.block(n)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, blk)
		x = out
	}
	fc, out, err := w.head(x)
	if err != nil {
		return nil, err
	}
	if n := w.consumers[out]; len(n) == 1 && n[0].GetOpType() == "Softmax" {
		if err := oneOutput(n[0]); err != nil {
			return nil, err
		}
		if ax, ok := attr(n[0], "axis"); ok && ax.GetI() != 1 && ax.GetI() != -1 {
			return nil, errorf("node %s: Softmax over axis %d, want the class axis 1", n[0].GetName(), ax.GetI())
		}
		im.Softmax, out = true, n[0].GetOutput()[0]
	}
	if out != im.Output.Name {
		return nil, errorf("the head's output %s is not the graph output %s (unsupported nodes after the head)", out, im.Output.Name)
	}
	if im.Model, im.ArchName, err = buildModel(blocks, fc, mp); err != nil {
		return nil, err
	}
	for _, p := range mp.GetMetadataProps() {
		if p.GetKey() == MetaClasses {
			var classes []string
			if json.Unmarshal([]byte(p.GetValue()), &classes) == nil && len(classes) == im.Model.NumClasses() {
				im.Classes = classes
			}
		}
	}
	return im, nil
}

func valueOf(vi *onnxpb.ValueInfoProto) Value {
	v := Value{Name: vi.GetName(), Elem: "?"}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return v
	}
	switch e := onnxpb.TensorProto_DataType(tt.GetElemType()); e {
	case onnxpb.TensorProto_FLOAT:
		v.Elem = "float32"
	default:
		v.Elem = strings.ToLower(e.String())
	}
	for _, d := range tt.GetShape().GetDim() {
		if p, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
			v.Dims, v.Params = append(v.Dims, p.DimValue), append(v.Params, "")
			continue
		}
		name := d.GetDimParam()
		if name == "" {
			name = "?"
		}
		v.Dims, v.Params = append(v.Dims, -1), append(v.Params, name)
	}
	return v
}

// constTensor is an initializer or Constant node output.
type constTensor struct {
	dims []int64
	f32  []float32
	i64  []int64
}

// walker follows the single data path of the graph.
type walker struct {
	consts    map[string]*constTensor
	consumers map[string][]*onnxpb.NodeProto
	bad       map[string]error // constants that could not be decoded
}

func newWalker(g *onnxpb.GraphProto) *walker {
	w := &walker{consts: map[string]*constTensor{}, consumers: map[string][]*onnxpb.NodeProto{}, bad: map[string]error{}}
	add := func(name string, t *onnxpb.TensorProto) {
		if c, err := decodeTensor(t); err != nil {
			w.bad[name] = err
		} else {
			w.consts[name] = c
		}
	}
	for _, t := range g.GetInitializer() {
		add(t.GetName(), t)
	}
	for _, n := range g.GetNode() {
		if n.GetOpType() == "Constant" && len(n.GetOutput()) == 1 {
			if a, ok := attr(n, "value"); ok && a.GetT() != nil {
				add(n.GetOutput()[0], a.GetT())
				continue
			}
		}
		for _, in := range n.GetInput() {
			w.consumers[in] = append(w.consumers[in], n)
		}
	}
	return w
}

func decodeTensor(t *onnxpb.TensorProto) (*constTensor, error) {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, errorf("tensor %s: external data is not supported", t.GetName())
	}
	c := &constTensor{dims: t.GetDims()}
	n := int64(1)
	for _, d := range c.dims {
		if d < 0 || d > 1<<31 || (d > 0 && n > (1<<40)/d) {
			return nil, errorf("tensor %s: bad dims %v", t.GetName(), c.dims)
		}
		n *= d
	}
	raw := t.GetRawData()
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_FLOAT:
		c.f32 = t.GetFloatData()
		if len(raw) > 0 {
			c.f32 = make([]float32, len(raw)/4)
			for i := range c.f32 {
				c.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
		if int64(len(c.f32)) != n {
			return nil, errorf("tensor %s: %d float values for dims %v", t.GetName(), len(c.f32), c.dims)
		}
	case onnxpb.TensorProto_INT64:
		c.i64 = t.GetInt64Data()
		if len(raw) > 0 {
			c.i64 = make([]int64, len(raw)/8)
			for i := range c.i64 {
				c.i64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
		if int64(len(c.i64)) != n {
			return nil, errorf("tensor %s: %d int64 values for dims %v", t.GetName(), len(c.i64), c.dims)
		}
	default:
		return nil, errorf("tensor %s has data type %s (want FLOAT or INT64)", t.GetName(), onnxpb.TensorProto_DataType(t.GetDataType()))
	}
	return c, nil
}

func attr(n *onnxpb.NodeProto, name string) (*onnxpb.AttributeProto, bool) {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a, true
		}
	}
	return nil, false
}

func nodeName(n *onnxpb.NodeProto) string {
	if n.GetName() != "" {
		return fmt.Sprintf("%s (%s)", n.GetName(), n.GetOpType())
	}
	return fmt.Sprintf("%s node writing %v", n.GetOpType(), n.GetOutput())
}

// next returns the only node that reads x's values. Shape nodes, which
// read only its dimensions (torch.onnx writes them for x.view(x.size(0),
// -1)), are not counted.
func (w *walker) next(x string) (*onnxpb.NodeProto, error) {
	c := w.readers(x)
	if len(c) != 1 {
		return nil, errorf("value %s is read by %d nodes where a MobileOne graph has one", x, len(c))
	}
	if err := oneOutput(c[0]); err != nil {
		return nil, err
	}
	return c[0], nil
}

// oneOutput checks that n has the single output every node of a MobileOne
// graph has.
func oneOutput(n *onnxpb.NodeProto) error {
	if len(n.GetOutput()) != 1 {
		return errorf("node %s has %d outputs", nodeName(n), len(n.GetOutput()))
	}
	return nil
}

// readers returns the nodes that read x's values (not its Shape).
func (w *walker) readers(x string) []*onnxpb.NodeProto {
	var c []*onnxpb.NodeProto
	for _, n := range w.consumers[x] {
		if n.GetOpType() != "Shape" {
			c = append(c, n)
		}
	}
	return c
}

// expect returns the only node reading x and checks its op type.
func (w *walker) expect(x string, ops ...string) (*onnxpb.NodeProto, error) {
	n, err := w.next(x)
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		if n.GetOpType() == op {
			return n, nil
		}
	}
	return nil, errorf("node %s: expected %s after %s", nodeName(n), strings.Join(ops, " or "), x)
}

// constInput returns the constant at input i of n.
func (w *walker) constInput(n *onnxpb.NodeProto, i int) (*constTensor, error) {
	if i >= len(n.GetInput()) {
		return nil, errorf("node %s lacks input %d", nodeName(n), i)
	}
	name := n.GetInput()[i]
	if err := w.bad[name]; err != nil {
		return nil, fmt.Errorf("node %s: %w", nodeName(n), err)
	}
	c, ok := w.consts[name]
	if !ok {
		return nil, errorf("node %s: input %s is not a constant", nodeName(n), name)
	}
	return c, nil
}

// otherInput returns the input of a two-input node that is not x.
func otherInput(n *onnxpb.NodeProto, x string) (string, error) {
	in := n.GetInput()
	switch {
	case len(in) == 2 && in[0] == x:
		return in[1], nil
	case len(in) == 2 && in[1] == x:
		return in[0], nil
	}
	return "", errorf("node %s: expected two inputs, one of them %s", nodeName(n), x)
}

// preprocess follows Export's data_preprocessor nodes from the uint8 input.
func (w *walker) preprocess(x string) (string, imagenet.Normalizer, error) {
	var norm imagenet.Normalizer
	n, err := w.expect(x, "Cast")
	if err != nil {
		return "", norm, err
	}
	if to, _ := attr(n, "to"); to.GetI() != int64(onnxpb.TensorProto_FLOAT) {
		return "", norm, errorf("node %s: cast to %d, want FLOAT", nodeName(n), to.GetI())
	}
	if n, err = w.expect(n.GetOutput()[0], "Transpose"); err != nil {
		return "", norm, err
	}
	if p, _ := attr(n, "perm"); fmt.Sprint(p.GetInts()) != "[0 3 1 2]" {
		return "", norm, errorf("node %s: perm %v, want [0 3 1 2] (NHWC to NCHW)", nodeName(n), p.GetInts())
	}
	if n, err = w.expect(n.GetOutput()[0], "Gather", "Sub"); err != nil {
		return "", norm, err
	}
	if n.GetOpType() == "Gather" {
		idx, err := w.constInput(n, 1)
		if err != nil {
			return "", norm, err
		}
		if ax, _ := attr(n, "axis"); ax.GetI() != 1 || fmt.Sprint(idx.i64) != "[2 1 0]" {
			return "", norm, errorf("node %s: only the BGR to RGB channel reversal (indices [2 1 0] on axis 1) is supported", nodeName(n))
		}
		norm.ToRGB = true
		if n, err = w.expect(n.GetOutput()[0], "Sub"); err != nil {
			return "", norm, err
		}
	}
	per := func(n *onnxpb.NodeProto, dst *[3]float32) error {
		c, err := w.constInput(n, 1)
		if err != nil {
			return err
		}
		if len(c.f32) != 3 {
			return errorf("node %s: %d values, want one per channel", nodeName(n), len(c.f32))
		}
		copy(dst[:], c.f32)
		return nil
	}
	if err := per(n, &norm.Mean); err != nil {
		return "", norm, err
	}
	if n, err = w.expect(n.GetOutput()[0], "Div"); err != nil {
		return "", norm, err
	}
	if err := per(n, &norm.Std); err != nil {
		return "", norm, err
	}
	return n.GetOutput()[0], norm, nil
}
