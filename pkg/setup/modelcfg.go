// Package setup builds what the commands and the trainer need from a config: turning a
// config's `model` into a model.Config, loading a checkpoint into a model
// (reparameterizing a train-time checkpoint for a deploy config), the
// official checkpoint URLs and the ImageNet class names.
package setup

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// ModelCfg is the `model` dict of an mmpretrain MobileOne config. Unknown
// keys are an error, so a misspelled option is not silently ignored.
type ModelCfg struct {
	Type             string          `json:"type"`
	Backbone         BackboneCfg     `json:"backbone"`
	Neck             *TypeCfg        `json:"neck"`
	Head             HeadCfg         `json:"head"`
	DataPreprocessor json.RawMessage `json:"data_preprocessor"`
	TrainCfg         json.RawMessage `json:"train_cfg"`
	InitCfg          json.RawMessage `json:"init_cfg"`
	Pretrained       json.RawMessage `json:"pretrained"`
}

// TypeCfg is a dict of which only `type` matters here.
type TypeCfg struct {
	Type string `json:"type"`
	Dim  *int   `json:"dim"`
}

// BackboneCfg holds MobileOne's constructor arguments
// (mmpretrain/models/backbones/mobileone.py).
type BackboneCfg struct {
	Type         string          `json:"type"`
	Arch         any             `json:"arch"`
	InChannels   *int            `json:"in_channels"`
	OutIndices   any             `json:"out_indices"`
	FrozenStages *int            `json:"frozen_stages"`
	ConvCfg      json.RawMessage `json:"conv_cfg"`
	NormCfg      *NormCfg        `json:"norm_cfg"`
	ActCfg       *TypeCfg        `json:"act_cfg"`
	SECfg        *SECfg          `json:"se_cfg"`
	Deploy       bool            `json:"deploy"`
	NormEval     bool            `json:"norm_eval"`
	InitCfg      json.RawMessage `json:"init_cfg"`
}

// NormCfg is mmcv's norm_cfg.
type NormCfg struct {
	Type         string   `json:"type"`
	Eps          *float64 `json:"eps"`
	Momentum     *float64 `json:"momentum"`
	RequiresGrad *bool    `json:"requires_grad"`
}

// SECfg is MobileOne's se_cfg.
type SECfg struct {
	Ratio   *int `json:"ratio"`
	Divisor *int `json:"divisor"`
}

// HeadCfg holds LinearClsHead's arguments.
type HeadCfg struct {
	Type       string          `json:"type"`
	NumClasses int             `json:"num_classes"`
	InChannels int             `json:"in_channels"`
	Loss       json.RawMessage `json:"loss"`
	Topk       any             `json:"topk"`
	CalAcc     bool            `json:"cal_acc"`
	InitCfg    json.RawMessage `json:"init_cfg"`
}

// ModelConfig reads the config's `model` and returns what pkg/model needs,
// refusing what this implementation does not do (another backbone, another
// norm layer, out_indices without the last stage).
func ModelConfig(cfg *config.Config) (model.Config, error) {
	var mc ModelCfg
	if err := cfg.Decode("model", &mc); err != nil {
		return model.Config{}, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: model: %s", cfg.Filename, fmt.Sprintf(format, args...))
	}
	if mc.Type != "ImageClassifier" {
		return model.Config{}, bad("type %q is not supported (only ImageClassifier)", mc.Type)
	}
	if mc.Backbone.Type != "MobileOne" {
		return model.Config{}, bad("backbone type %q is not supported (only MobileOne)", mc.Backbone.Type)
	}
	if mc.Neck != nil && mc.Neck.Type != "GlobalAveragePooling" {
		return model.Config{}, bad("neck type %q is not supported (only GlobalAveragePooling)", mc.Neck.Type)
	}
	if mc.Head.Type != "LinearClsHead" {
		return model.Config{}, bad("head type %q is not supported (only LinearClsHead)", mc.Head.Type)
	}
	if mc.Backbone.InChannels != nil && *mc.Backbone.InChannels != 3 {
		return model.Config{}, bad("backbone.in_channels=%d is not supported (images have 3 channels)", *mc.Backbone.InChannels)
	}
	if n := mc.Backbone.NormCfg; n != nil && n.Type != "BN" && n.Type != "BN2d" {
		return model.Config{}, bad("backbone.norm_cfg type %q is not supported (only BN)", n.Type)
	}
	if a := mc.Backbone.ActCfg; a != nil && a.Type != "ReLU" {
		return model.Config{}, bad("backbone.act_cfg type %q is not supported (only ReLU)", a.Type)
	}
	if len(mc.Backbone.ConvCfg) > 0 && string(mc.Backbone.ConvCfg) != "null" {
		return model.Config{}, bad("backbone.conv_cfg is not supported (plain Conv2d only)")
	}
	if err := checkOutIndices(mc.Backbone.OutIndices); err != nil {
		return model.Config{}, bad("%v", err)
	}
	arch, err := model.ParseArch(mc.Backbone.Arch)
	if err != nil {
		return model.Config{}, bad("backbone.arch: %v", strings.TrimPrefix(err.Error(), "model: "))
	}
	out := model.Config{Arch: arch, Deploy: mc.Backbone.Deploy, NumClasses: mc.Head.NumClasses, InChannels: mc.Head.InChannels}
	if s := mc.Backbone.SECfg; s != nil {
		if s.Ratio != nil {
			out.SERatio = *s.Ratio
		}
		if s.Divisor != nil && *s.Divisor != 8 {
			return model.Config{}, bad("backbone.se_cfg.divisor=%d is not supported (only 8)", *s.Divisor)
		}
	}
	if n := mc.Backbone.NormCfg; n != nil {
		if n.Eps != nil {
			out.BNEps = float32(*n.Eps)
		}
		if n.Momentum != nil {
			out.BNMomentum = float32(*n.Momentum)
		}
	}
	if f := mc.Backbone.FrozenStages; f != nil {
		if *f < -1 || *f > 4 {
			return model.Config{}, bad("backbone.frozen_stages=%d must be in [-1, 4]", *f)
		}
		out.Frozen = *f + 1
	}
	out.NormEval = mc.Backbone.NormEval
	if out.NumClasses <= 0 {
		return model.Config{}, bad("head.num_classes must be a positive integer")
	}
	return out, nil
}

// checkOutIndices accepts out_indices that include the last stage (3 or
// -1): the neck and head use the last output only.
func checkOutIndices(v any) error {
	var list []any
	switch x := v.(type) {
	case nil:
		return nil
	case float64:
		list = []any{x}
	case []any:
		list = x
	default:
		return fmt.Errorf("backbone.out_indices must be an int or a sequence, got %v", v)
	}
	last := false
	for _, e := range list {
		f, ok := e.(float64)
		if !ok {
			return fmt.Errorf("backbone.out_indices must hold ints, got %v", e)
		}
		i := int(f)
		if i < 0 {
			i += 4
		}
		if i < 0 || i > 4 {
			return fmt.Errorf("backbone.out_indices: invalid stage index %v", e)
		}
		last = last || i == 3
	}
	if !last {
		return fmt.Errorf("backbone.out_indices %v does not include the last stage (3), which the head needs", v)
	}
	return nil
}

// ImageNetClasses returns mmpretrain's IMAGENET_CATEGORIES (1000 names).
func ImageNetClasses() []string { return imagenet.ImageNetCategories() }

// ClassNames returns a dataset's class names as its metainfo holds them
// upstream: the folder names or the configured classes, ImageNet's 1000
// names for an ImageNet-sized set without them, else nil.
func ClassNames(ds *imagenet.Dataset) []string {
	if ds.Classes != nil {
		return ds.Classes
	}
	if ds.NumClasses == 1000 {
		return ImageNetClasses()
	}
	return nil
}

// Load loads a config (file or built-in name), applies --cfg-options and
// reads its model: the first step of every command that builds a model.
func Load(nameOrPath string, cfgOptions []string) (*config.Config, model.Config, error) {
	cfg, err := config.LoadWithOptions(nameOrPath, cfgOptions)
	if err != nil {
		return nil, model.Config{}, err
	}
	mc, err := ModelConfig(cfg)
	if err != nil {
		return nil, model.Config{}, err
	}
	return cfg, mc, nil
}
