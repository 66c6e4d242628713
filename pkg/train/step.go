package train

import (
	"github.com/mobileone-go/mobileone/pkg/model"
)

// ComputeGradients is the forward and backward half of mmengine's
// BaseModel.train_step in train mode: ForwardTrain (updating the BatchNorm
// running statistics), the loss, and Backward into g. It returns the loss
// value and the logits.
func ComputeGradients(m *model.ImageClassifier, g *model.Grads, loss Loss, x *model.Tensor, labels []int) (float64, *model.Tensor, error) {
	return ComputeGradientsWith(nil, m, g, loss, x, labels)
}

// ComputeGradientsWith is ComputeGradients with the activation buffers
// recycled in ws (model.Workspace; nil allocates). The returned logits are
// valid until the next call with ws.
func ComputeGradientsWith(ws *model.Workspace, m *model.ImageClassifier, g *model.Grads, loss Loss, x *model.Tensor, labels []int) (float64, *model.Tensor, error) {
	pass, err := m.ForwardTrainWith(ws, x)
	if err != nil {
		return 0, nil, err
	}
	l, dl, err := loss.Forward(pass.Logits, labels)
	if err != nil {
		return 0, nil, err
	}
	if err := pass.Backward(dl, g); err != nil {
		return 0, nil, err
	}
	return l, pass.Logits, nil
}
