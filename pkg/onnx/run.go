package onnx

import (
	"fmt"
	"math/rand/v2"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx/ort"
)

// InputSize returns the batch, height and width to run the file with: its
// fixed dimensions, and batch, h and w for the symbolic ones.
func (im *Imported) InputSize(batch, h, w int) (int, int, int) {
	d := im.Input.Dims
	hi, wi := 2, 3
	if im.Preprocess {
		hi, wi = 1, 2
	}
	pick := func(i, def int) int {
		if i < len(d) && d[i] > 0 {
			return int(d[i])
		}
		return def
	}
	return pick(0, batch), pick(hi, h), pick(wi, w)
}

// RandomInput returns a deterministic input in the file's input form:
// standard-normal float32 [n, 3, h, w], or uniform uint8 [n, h, w, 3] pixels
// when the preprocessing is in the graph.
func (im *Imported) RandomInput(n, h, w int, seed uint64) ort.Tensor {
	if !im.Preprocess {
		x := RandomInput(n, h, w, seed)
		return ort.Tensor{Name: im.Input.Name, Dims: x.Shape, F32: x.Data}
	}
	r := rand.New(rand.NewPCG(seed, 0x7069786573))
	pix := make([]byte, n*h*w*3)
	for i := range pix {
		pix[i] = byte(r.UintN(256))
	}
	return ort.Tensor{Name: im.Input.Name, Dims: []int{n, h, w, 3}, U8: pix}
}

// Forward runs the mapped model in our engine on an input in the file's
// form and returns what the file outputs (logits, or scores with Softmax).
func (im *Imported) Forward(in ort.Tensor) (*model.Tensor, error) {
	return RunModel(im.Model, im.Normalizer, in, im.Softmax)
}

// RunModel runs m on in (normalized float32 [n, 3, h, w], or uint8 BGR
// [n, h, w, 3] pixels normalized with norm first) and returns its logits,
// or their softmax.
func RunModel(m *model.ImageClassifier, norm imagenet.Normalizer, in ort.Tensor, softmax bool) (*model.Tensor, error) {
	x := &model.Tensor{Shape: in.Dims, Data: in.F32}
	if in.U8 != nil {
		if len(in.Dims) != 4 || in.Dims[3] != 3 {
			return nil, errorf("uint8 input dims %v, want [n, h, w, 3]", in.Dims)
		}
		n, h, w := in.Dims[0], in.Dims[1], in.Dims[2]
		x = model.NewTensor(n, 3, h, w)
		for i := 0; i < n; i++ {
			img := &imagenet.Image{Width: w, Height: h, Pix: in.U8[i*h*w*3 : (i+1)*h*w*3]}
			norm.ToCHW(x.Data[i*3*h*w:(i+1)*3*h*w], img)
		}
	}
	out, err := m.NewPredictor().Forward(x)
	if err != nil {
		return nil, fmt.Errorf("onnx: running the model: %w", err)
	}
	if softmax {
		out = model.Softmax(out)
	}
	return out, nil
}
