// Package predict classifies decoded images the way mmpretrain's
// ImageClassificationInferencer does: the config's test pipeline, the
// data preprocessor's normalization, the eval-mode forward pass, softmax,
// and the best classes ranked as torch.topk ranks them. It serves
// `mobileone infer` and `mobileone serve`.
package predict

import (
	"fmt"

	"github.com/mobileone-go/mobileone/internal/bufpool"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// Result is one image's prediction; its JSON form is what `infer --json`
// prints per image and what `serve` answers.
type Result struct {
	Image     string  `json:"image"`
	PredLabel int     `json:"pred_label"`
	PredScore float32 `json:"pred_score"`
	PredClass string  `json:"pred_class"`
	TopK      []Class `json:"topk"`
}

// Class is one entry of a top-K list.
type Class struct {
	Label int     `json:"label"`
	Score float32 `json:"score"`
	Class string  `json:"class"`
}

// Rank ranks one row of softmax scores: the topK best classes, ties to
// the lower index (torch.topk), named by classes (the index when a name
// is missing).
func Rank(image string, scores []float32, classes []string, topK int) Result {
	r := Result{Image: image}
	for _, i := range evaluate.TopK(scores, max(topK, 1)) {
		r.TopK = append(r.TopK, Class{Label: i, Score: scores[i], Class: className(classes, i)})
	}
	r.PredLabel, r.PredScore, r.PredClass = r.TopK[0].Label, r.TopK[0].Score, r.TopK[0].Class
	return r
}

func className(classes []string, i int) string {
	if i < len(classes) {
		return classes[i]
	}
	return fmt.Sprint(i)
}

// Input is one preprocessed image: normalized CHW floats.
type Input struct {
	Name string
	CHW  []float32
	H, W int
	buf  *[]float32 // chwPool's handle on CHW (Preprocess), or nil
}

// Preprocess applies the test pipeline and the normalization to a decoded
// image.
func Preprocess(name string, img *imagenet.Image, pipe *imagenet.Pipeline, norm imagenet.Normalizer) (Input, error) {
	img, err := pipe.Apply(img, nil)
	if err != nil {
		return Input{}, fmt.Errorf("%s: %w", name, err)
	}
	n := 3 * img.Height * img.Width
	buf := chwPool.Get(n) // ToCHW writes every value
	norm.ToCHW(*buf, img)
	return Input{Name: name, CHW: *buf, H: img.Height, W: img.Width, buf: buf}, nil
}

// chwPool holds the tensors of inputs handed back by Release.
var chwPool bufpool.Pool[float32]

// Release hands the input's tensor back for a later Preprocess (serve
// does once Scores has copied it into its batch); the input is empty
// afterwards.
func (in *Input) Release() {
	if in.buf != nil {
		chwPool.Put(in.buf)
		in.buf = nil
	}
	in.CHW = nil
}

// Classifier is the model: a *model.Predictor or a *model.ImageClassifier.
type Classifier interface {
	Forward(x *model.Tensor) (*model.Tensor, error)
}

// batchPool holds the batch tensors Scores assembles (a served batch of 8
// is 4.8 MB: allocating it cleared that much memory per batch).
var batchPool bufpool.Pool[float32]

// Scores runs the inputs through m and returns each one's softmax scores.
// Consecutive inputs of the same size share a forward pass; in eval mode a
// batch gives the same scores as its images one by one.
func Scores(m Classifier, inputs []Input) ([][]float32, error) {
	out := make([][]float32, 0, len(inputs))
	for len(inputs) > 0 {
		n := 1
		for n < len(inputs) && inputs[n].H == inputs[0].H && inputs[n].W == inputs[0].W {
			n++
		}
		h, w := inputs[0].H, inputs[0].W
		buf := batchPool.Get(n * 3 * h * w)
		data := (*buf)[:0]
		for _, in := range inputs[:n] {
			data = append(data, in.CHW...)
		}
		logits, err := m.Forward(&model.Tensor{Shape: []int{n, 3, h, w}, Data: data})
		batchPool.Put(buf) // the eval forward pass keeps no reference to its input
		if err != nil {
			return nil, fmt.Errorf("%s: %w", inputs[0].Name, err)
		}
		s := model.Softmax(logits)
		k := s.Shape[1]
		for i := range n {
			out = append(out, s.Data[i*k:(i+1)*k:(i+1)*k])
		}
		inputs = inputs[n:]
	}
	return out, nil
}
