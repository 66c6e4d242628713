package onnx

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx/onnxpb"
)

// convSpec is one Conv node with constant weights.
type convSpec struct {
	node                           string
	weight                         *constTensor // [out, in/groups, k, k]
	bias                           []float32    // nil: no bias input (zeros)
	out, in, k, stride, pad, group int
}

// block is one deploy MobileOneBlock as found in the graph.
type block struct {
	conv     convSpec
	se1, se2 *convSpec // the SE layer's convs, nil without SE
}

func (w *walker) conv(n *onnxpb.NodeProto) (convSpec, error) {
	c := convSpec{node: nodeName(n), group: 1, stride: 1}
	wt, err := w.constInput(n, 1)
	if err != nil {
		return c, err
	}
	if len(wt.dims) != 4 || wt.dims[2] != wt.dims[3] || wt.f32 == nil {
		return c, errorf("node %s: weight dims %v, want a float [out, in/groups, k, k]", c.node, wt.dims)
	}
	c.weight, c.out, c.k = wt, int(wt.dims[0]), int(wt.dims[2])
	if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		b, err := w.constInput(n, 2)
		if err != nil {
			return c, err
		}
		if len(b.f32) != c.out {
			return c, errorf("node %s: bias has %d values for %d output channels", c.node, len(b.f32), c.out)
		}
		c.bias = b.f32
	}
	if a, ok := attr(n, "group"); ok {
		c.group = int(a.GetI())
	}
	c.in = int(wt.dims[1]) * c.group
	same := func(name string, v []int64, want int) (int, error) {
		for _, x := range v {
			if x != v[0] || (want >= 0 && int(x) != want) {
				return 0, errorf("node %s: %s %v is not supported (MobileOne uses equal values%s)", c.node, name, v, map[bool]string{true: fmt.Sprintf(" of %d", want), false: ""}[want >= 0])
			}
		}
		if len(v) == 0 {
			return max(want, 0), nil
		}
		return int(v[0]), nil
	}
	if a, ok := attr(n, "auto_pad"); ok && string(a.GetS()) != "" && string(a.GetS()) != "NOTSET" {
		return c, errorf("node %s: auto_pad %s is not supported", c.node, a.GetS())
	}
	if a, ok := attr(n, "dilations"); ok {
		if _, err := same("dilations", a.GetInts(), 1); err != nil {
			return c, err
		}
	}
	if a, ok := attr(n, "kernel_shape"); ok {
		if _, err := same("kernel_shape", a.GetInts(), c.k); err != nil {
			return c, err
		}
	}
	if a, ok := attr(n, "strides"); ok {
		if c.stride, err = same("strides", a.GetInts(), -1); err != nil {
			return c, err
		}
	}
	if a, ok := attr(n, "pads"); ok {
		if c.pad, err = same("pads", a.GetInts(), -1); err != nil {
			return c, err
		}
	}
	return c, nil
}

// block reads the block whose Conv is n and returns it with its output.
func (w *walker) block(n *onnxpb.NodeProto) (*block, string, error) {
	c, err := w.conv(n)
	if err != nil {
		return nil, "", err
	}
	b := &block{conv: c}
	y := n.GetOutput()[0]
	users := w.readers(y)
	if len(users) == 2 { // SE: pool -> conv -> relu -> conv -> sigmoid -> mul(y, .)
		pool, mul := users[0], users[1]
		if pool.GetOpType() == "Mul" {
			pool, mul = mul, pool
		}
		if mul.GetOpType() != "Mul" || !w.isGlobalPool(pool) {
			return nil, "", errorf("node %s: its output feeds %s and %s, not an SE layer (GlobalAveragePool and Mul)", c.node, nodeName(users[0]), nodeName(users[1]))
		}
		for _, n := range []*onnxpb.NodeProto{pool, mul} {
			if err := oneOutput(n); err != nil {
				return nil, "", err
			}
		}
		s := pool.GetOutput()[0]
		var convs [2]convSpec
		for i, act := range []string{"Relu", "Sigmoid"} {
			cn, err := w.expect(s, "Conv")
			if err != nil {
				return nil, "", err
			}
			if convs[i], err = w.conv(cn); err != nil {
				return nil, "", err
			}
			an, err := w.expect(cn.GetOutput()[0], act)
			if err != nil {
				return nil, "", err
			}
			s = an.GetOutput()[0]
		}
		if other, err := otherInput(mul, y); err != nil || other != s {
			return nil, "", errorf("node %s: the SE layer's Mul does not scale %s by its sigmoid", nodeName(mul), y)
		}
		b.se1, b.se2 = &convs[0], &convs[1]
		y = mul.GetOutput()[0]
	}
	r, err := w.expect(y, "Relu")
	if err != nil {
		return nil, "", err
	}
	return b, r.GetOutput()[0], nil
}

// isGlobalPool reports a GlobalAveragePool, or a ReduceMean over H and W
// (axes as attribute, or as a constant input from opset 18) that keeps the
// reduced axes.
func (w *walker) isGlobalPool(n *onnxpb.NodeProto) bool {
	switch n.GetOpType() {
	case "GlobalAveragePool":
		return true
	case "ReduceMean":
		if k, ok := attr(n, "keepdims"); ok && k.GetI() == 0 {
			return false
		}
		axes, ok := attr(n, "axes")
		if ok {
			return fmt.Sprint(axes.GetInts()) == "[2 3]"
		}
		c, err := w.constInput(n, 1)
		return err == nil && fmt.Sprint(c.i64) == "[2 3]"
	}
	return false
}

// head reads GlobalAveragePool, Flatten and the fc, returning the fc as
// Linear and the logits' name.
func (w *walker) head(x string) (*model.Linear, string, error) {
	n, err := w.next(x)
	if err != nil {
		return nil, "", err
	}
	if !w.isGlobalPool(n) {
		return nil, "", errorf("node %s: expected a Conv (next block) or GlobalAveragePool (neck)", nodeName(n))
	}
	x = n.GetOutput()[0]
	if n, err = w.expect(x, "Flatten", "Reshape", "Squeeze", "Gemm", "MatMul"); err != nil {
		return nil, "", err
	}
	if op := n.GetOpType(); op == "Flatten" || op == "Reshape" || op == "Squeeze" {
		if a, ok := attr(n, "axis"); op == "Flatten" && ok && a.GetI() != 1 {
			return nil, "", errorf("node %s: Flatten axis %d, want 1", nodeName(n), a.GetI())
		}
		x = n.GetOutput()[0]
		if n, err = w.expect(x, "Gemm", "MatMul"); err != nil {
			return nil, "", err
		}
	}
	wt, err := w.constInput(n, 1)
	if err != nil {
		return nil, "", err
	}
	if len(wt.dims) != 2 || wt.f32 == nil {
		return nil, "", errorf("node %s: weight dims %v, want 2", nodeName(n), wt.dims)
	}
	transB := false
	var bias []float32
	out := n.GetOutput()[0]
	if n.GetOpType() == "Gemm" {
		for _, a := range []string{"alpha", "beta"} {
			if v, ok := attr(n, a); ok && v.GetF() != 1 {
				return nil, "", errorf("node %s: %s=%g is not supported", nodeName(n), a, v.GetF())
			}
		}
		if v, _ := attr(n, "transA"); v.GetI() != 0 {
			return nil, "", errorf("node %s: transA is not supported", nodeName(n))
		}
		v, _ := attr(n, "transB")
		transB = v.GetI() == 1
		if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
			b, err := w.constInput(n, 2)
			if err != nil {
				return nil, "", err
			}
			bias = b.f32
		}
	} else if add, err := w.expect(out, "Add"); err == nil {
		other, err := otherInput(add, out)
		if err != nil {
			return nil, "", err
		}
		b, ok := w.consts[other]
		if !ok {
			return nil, "", errorf("node %s: the fc bias %s is not a constant", nodeName(add), other)
		}
		bias, out = b.f32, add.GetOutput()[0]
	}
	in, o := int(wt.dims[0]), int(wt.dims[1])
	if transB {
		o, in = in, o
	}
	fc := &model.Linear{In: in, Out: o, Weight: model.NewTensor(o, in), Bias: model.NewTensor(o)}
	for i := 0; i < o; i++ {
		for j := 0; j < in; j++ {
			if transB {
				fc.Weight.Data[i*in+j] = wt.f32[i*in+j]
			} else {
				fc.Weight.Data[i*in+j] = wt.f32[j*o+i]
			}
		}
	}
	if bias != nil {
		if len(bias) != o {
			return nil, "", errorf("node %s: fc bias has %d values for %d classes", nodeName(n), len(bias), o)
		}
		copy(fc.Bias.Data, bias)
	}
	return fc, out, nil
}

// buildModel recovers the arch from the block structure (stage0, then per
// stage (depthwise 3×3, pointwise 1×1) pairs, each stage starting with a
// stride-2 depthwise conv), builds the deploy model and copies the weights.
func buildModel(blocks []*block, fc *model.Linear, mp *onnxpb.ModelProto) (*model.ImageClassifier, string, error) {
	if len(blocks) < 9 || len(blocks)%2 != 1 {
		return nil, "", errorf("%d conv blocks: a MobileOne has stage0 and pairs of (depthwise, pointwise) blocks in 4 stages", len(blocks))
	}
	var arch model.Arch
	stage := -1
	for i := 1; i < len(blocks); i += 2 {
		dw := blocks[i].conv
		if dw.stride == 2 {
			stage++
			if stage > 3 {
				return nil, "", errorf("node %s: a fifth stride-2 stage; MobileOne has four", dw.node)
			}
		} else if stage < 0 {
			return nil, "", errorf("node %s: the first depthwise conv of stage1 must have stride 2", dw.node)
		}
		arch.NumBlocks[stage]++
		if blocks[i].se1 != nil {
			arch.NumSEBlocks[stage]++
		} else if arch.NumSEBlocks[stage] > 0 {
			return nil, "", errorf("node %s: a block without SE after one with SE; MobileOne's SE blocks are the last of a stage", dw.node)
		}
		if (blocks[i].se1 == nil) != (blocks[i+1].se1 == nil) {
			return nil, "", errorf("node %s: SE on only one conv of the pair", blocks[i+1].conv.node)
		}
	}
	if stage != 3 {
		return nil, "", errorf("%d stride-2 stages after stage0; MobileOne has four", stage+1)
	}
	var ch [5]int
	ch[0] = blocks[0].conv.out
	base := [4]float64{64, 128, 256, 512}
	for s, i := 0, 0; s < 4; s++ {
		i += 2 * arch.NumBlocks[s]
		ch[s+1] = blocks[i].conv.out
		arch.WidthFactor[s] = float64(ch[s+1]) / base[s]
		arch.NumConvBranches[s] = 1
	}
	if got := arch.Channels(); got != ch {
		return nil, "", errorf("stage widths %v do not follow MobileOne's width rule (stage0 = min(64, stage1 width factor × 64) gives %v)", ch, got)
	}
	// The metadata's arch, when it gives the same structure, is the
	// original one: its width factors, and num_conv_branches, which the
	// deploy graph does not show.
	for _, p := range mp.GetMetadataProps() {
		var meta model.Arch
		if p.GetKey() == MetaArch && json.Unmarshal([]byte(p.GetValue()), &meta) == nil && sameStructure(meta, arch) && meta.Validate() == nil {
			arch = meta
		}
	}
	m, err := model.New(model.Config{Arch: arch, Deploy: true, NumClasses: fc.Out, InChannels: fc.In})
	if err != nil {
		return nil, "", errorf("the graph's structure is not a valid MobileOne: %v", err)
	}
	mb, names := m.Blocks()
	for i, b := range blocks {
		if err := copyConv(mb[i].BranchReparam, b.conv, names[i]+".branch_reparam"); err != nil {
			return nil, "", err
		}
		if b.se1 != nil {
			if mb[i].SE == nil {
				return nil, "", errorf("node %s: SE where the arch has none", b.conv.node)
			}
			if err := copyConv(mb[i].SE.Conv1, *b.se1, names[i]+".se.conv1.conv"); err != nil {
				return nil, "", err
			}
			if err := copyConv(mb[i].SE.Conv2, *b.se2, names[i]+".se.conv2.conv"); err != nil {
				return nil, "", err
			}
		}
	}
	m.Head.FC.Weight, m.Head.FC.Bias = fc.Weight, fc.Bias
	name := "custom"
	for _, k := range model.ArchNames() {
		z := model.ArchZoo[k]
		if sameStructure(z, arch) {
			name = k
		}
	}
	return m, name, nil
}

// sameStructure reports whether two archs build the same deploy graph.
func sameStructure(a, b model.Arch) bool {
	return a.NumBlocks == b.NumBlocks && a.NumSEBlocks == b.NumSEBlocks && a.Channels() == b.Channels()
}

// copyConv checks that the graph's conv c has the geometry of the model's
// conv dst and copies its weights (a missing bias is zero).
func copyConv(dst *model.Conv2d, c convSpec, key string) error {
	if c.in != dst.In || c.out != dst.Out || c.k != dst.K || c.stride != dst.Stride || c.pad != dst.Padding || c.group != dst.Groups {
		return errorf("node %s: conv %d->%d k%d s%d p%d g%d where MobileOne's %s is %d->%d k%d s%d p%d g%d",
			c.node, c.in, c.out, c.k, c.stride, c.pad, c.group, key, dst.In, dst.Out, dst.K, dst.Stride, dst.Padding, dst.Groups)
	}
	copy(dst.Weight.Data, c.weight.f32)
	if dst.Bias != nil {
		clear(dst.Bias.Data)
		copy(dst.Bias.Data, c.bias)
	}
	return nil
}

// RandomInput returns a deterministic input of shape [n, 3, h, w] with
// standard-normal values (the range of a normalized image).
func RandomInput(n, h, w int, seed uint64) *model.Tensor {
	r := rand.New(rand.NewPCG(seed, 0x6d6f62696c656f6e))
	t := model.NewTensor(n, 3, h, w)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

// MaxAbsDiff is max |a[i] - b[i]|; slices of different length give +Inf.
func MaxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// CompareModels runs a and b on the same RandomInput(n, h, w, seed) and
// returns the largest logit difference.
func CompareModels(a, b *model.ImageClassifier, n, h, w int, seed uint64) (float64, error) {
	if a.NumClasses() != b.NumClasses() {
		return 0, errorf("%d classes against %d", a.NumClasses(), b.NumClasses())
	}
	x := RandomInput(n, h, w, seed)
	la, err := a.NewPredictor().Forward(x)
	if err != nil {
		return 0, err
	}
	lb, err := b.NewPredictor().Forward(x)
	if err != nil {
		return 0, err
	}
	if !slices.Equal(la.Shape, lb.Shape) {
		return math.Inf(1), nil
	}
	return MaxAbsDiff(la.Data, lb.Data), nil
}
