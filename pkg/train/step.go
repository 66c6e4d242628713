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

// ModelConfig reads the model dict of a config (ImageClassifier with a
// MobileOne backbone, GlobalAveragePooling neck and LinearClsHead).
func ModelConfig(modelCfg map[string]any) (model.Config, error) {
	var mc model.Config
	bb, _ := modelCfg["backbone"].(map[string]any)
	if bb == nil {
		return mc, configErrorf("model.backbone", "missing")
	}
	if t, _ := bb["type"].(string); t != "MobileOne" {
		return mc, configErrorf("model.backbone.type", "%q is not supported (MobileOne)", t)
	}
	arch, err := model.ParseArch(bb["arch"])
	if err != nil {
		return mc, err
	}
	mc.Arch = arch
	mc.Deploy, _ = bb["deploy"].(bool)
	head, _ := modelCfg["head"].(map[string]any)
	if head == nil {
		return mc, configErrorf("model.head", "missing")
	}
	if n, ok := toFloat(head["num_classes"]); ok {
		mc.NumClasses = int(n)
	} else {
		return mc, configErrorf("model.head.num_classes", "missing")
	}
	if n, ok := toFloat(head["in_channels"]); ok {
		mc.InChannels = int(n)
	}
	return mc, nil
}
