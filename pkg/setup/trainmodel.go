package setup

import (
	"encoding/json"
	"fmt"

	"github.com/mobileone-go/mobileone/pkg/train"
)

// initCfg is an init_cfg dict; only Pretrained loads anything this
// implementation does (the default initialization is MobileOne's own).
type initCfg struct {
	Type        string `json:"type"`
	Checkpoint  string `json:"checkpoint"`
	Prefix      string `json:"prefix"`
	MapLocation any    `json:"map_location"`
}

// modelTraining reads what only training uses from `model`: the loss,
// the backbone's init_cfg, frozen_stages, norm_eval, and refuses batch
// augments and other model-level training options.
func (b *specBuilder) modelTraining() error {
	var mc ModelCfg
	if err := b.cfg.Decode("model", &mc); err != nil {
		return err
	}
	s := b.spec
	bb := mc.Backbone
	if n := bb.NormCfg; n != nil && n.RequiresGrad != nil && !*n.RequiresGrad {
		return b.unsupported("model.backbone.norm_cfg.requires_grad", "False")
	}
	if raw := bb.InitCfg; setRaw(raw) {
		var ic initCfg
		if err := b.cfg.Decode("model.backbone.init_cfg", &ic); err != nil {
			return fmt.Errorf("%w (a list of init_cfg is not supported: give one dict)", err)
		}
		if ic.Type != "Pretrained" {
			return b.unsupported("model.backbone.init_cfg.type", "%q (Pretrained; without init_cfg MobileOne's Kaiming/constant initialization is used)", ic.Type)
		}
		if ic.Checkpoint == "" {
			return b.bad("model.backbone.init_cfg.checkpoint", "missing")
		}
		s.Init = &train.PretrainedInit{Module: "backbone", Checkpoint: ic.Checkpoint, Prefix: ic.Prefix}
	}
	for _, k := range []struct {
		key string
		raw json.RawMessage
	}{{"model.init_cfg", mc.InitCfg}, {"model.head.init_cfg", mc.Head.InitCfg}, {"model.pretrained", mc.Pretrained}, {"model.train_cfg", mc.TrainCfg}} {
		if setRaw(k.raw) {
			return b.unsupported(k.key, "set (batch augments and other initializations are not implemented)")
		}
	}
	for _, p := range []string{"model.data_preprocessor.batch_augments", "data_preprocessor.batch_augments"} {
		if b.has(p) {
			return b.unsupported(p, "set (Mixup/CutMix are not implemented)")
		}
	}
	if !setRaw(mc.Head.Loss) {
		return b.bad("model.head.loss", "missing")
	}
	var err error
	s.Loss, err = b.loss("model.head.loss")
	return err
}

type lossCfg struct {
	Type           string          `json:"type"`
	LabelSmoothVal *float64        `json:"label_smooth_val"`
	NumClasses     *int            `json:"num_classes"`
	Mode           *string         `json:"mode"`
	UseSigmoid     bool            `json:"use_sigmoid"`
	UseSoft        bool            `json:"use_soft"`
	Reduction      *string         `json:"reduction"`
	LossWeight     *float64        `json:"loss_weight"`
	ClassWeight    json.RawMessage `json:"class_weight"`
	PosWeight      json.RawMessage `json:"pos_weight"`
}

// loss builds the loss dict at path: LabelSmoothLoss or CrossEntropyLoss
// (softmax, mean reduction).
func (b *specBuilder) loss(path string) (train.Loss, error) {
	var lc lossCfg
	if err := b.cfg.Decode(path, &lc); err != nil {
		return nil, err
	}
	w := lc.LossWeight // nil: upstream's default 1
	if lc.Reduction != nil && *lc.Reduction != "mean" {
		return nil, b.unsupported(path+".reduction", "%q (mean)", *lc.Reduction)
	}
	if lc.UseSigmoid {
		return nil, b.unsupported(path+".use_sigmoid", "True (softmax cross entropy only)")
	}
	if setRaw(lc.ClassWeight) || setRaw(lc.PosWeight) {
		return nil, b.unsupported(path+".class_weight", "set")
	}
	switch lc.Type {
	case "LabelSmoothLoss":
		if lc.UseSoft {
			return nil, b.bad(path+".use_soft", "is not a LabelSmoothLoss argument")
		}
		if lc.LabelSmoothVal == nil {
			return nil, b.bad(path+".label_smooth_val", "missing")
		}
		eps := *lc.LabelSmoothVal
		if eps < 0 || eps >= 1 {
			return nil, b.bad(path+".label_smooth_val", "%v must be in [0, 1)", eps)
		}
		mode := "original"
		if lc.Mode != nil {
			mode = *lc.Mode
		}
		switch mode {
		case "original", "classy_vision":
		case "multi_label":
			return nil, b.unsupported(path+".mode", "%q (it needs sigmoid outputs)", mode)
		default:
			return nil, b.bad(path+".mode", "%q is not one of original, classy_vision, multi_label", mode)
		}
		return train.LabelSmoothLoss{LabelSmoothVal: eps, Mode: mode, LossWeight: w}, nil
	case "CrossEntropyLoss":
		if lc.LabelSmoothVal != nil || lc.Mode != nil || lc.NumClasses != nil {
			return nil, b.bad(path, "label_smooth_val, mode and num_classes are LabelSmoothLoss arguments")
		}
		if lc.UseSoft {
			return nil, b.unsupported(path+".use_soft", "True (batch augments are not implemented)")
		}
		return train.CrossEntropyLoss{LossWeight: w}, nil
	}
	return nil, b.unsupported(path+".type", "%q (LabelSmoothLoss, CrossEntropyLoss)", lc.Type)
}
