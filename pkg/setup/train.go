package setup

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/train"
)

// UnsupportedError is a config key or type that mmpretrain accepts and
// this implementation does not do.
type UnsupportedError struct {
	File, Key, What string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: not supported: %s: %s", e.File, e.Key, e.What)
}

// ValueError is a config value that is wrong (mmengine would raise too).
type ValueError struct {
	File, Key, Msg string
}

func (e *ValueError) Error() string { return fmt.Sprintf("%s: %s: %s", e.File, e.Key, e.Msg) }

// specBuilder carries the config and the file name through the decoders.
type specBuilder struct {
	cfg  *config.Config
	reg  imagenet.Registry
	spec *train.Spec
}

func (b *specBuilder) unsupported(key, format string, args ...any) error {
	return &UnsupportedError{File: b.cfg.Filename, Key: key, What: fmt.Sprintf(format, args...)}
}

func (b *specBuilder) bad(key, format string, args ...any) error {
	return &ValueError{File: b.cfg.Filename, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// has reports a key set to something other than None.
func (b *specBuilder) has(path string) bool {
	v, ok := b.cfg.Get(path)
	return ok && v != nil
}

// decode decodes path strictly into dst when it is set (not None).
func (b *specBuilder) decode(path string, dst any) (bool, error) {
	if !b.has(path) {
		return false, nil
	}
	return true, b.cfg.Decode(path, dst)
}

// TrainOptions are what the train command adds to the config.
type TrainOptions struct {
	NoValidate bool // --no-validate: no val loop (its dataset is not read)
	// Registry builds the pipelines (nil: TrainRegistry()).
	Registry imagenet.Registry
}

// TrainRegistry is the pipeline registry of training: pkg/imagenet's
// transforms plus RandAugment.
func TrainRegistry() imagenet.Registry {
	r := imagenet.DefaultRegistry()
	imagenet.RegisterRandAugment(r)
	return r
}

// runtimeCfg are the top-level keys of the Runner that take no part in a
// CPU run but that every config has; they are checked for values this
// implementation would have to honour.
type runtimeCfg struct {
	DefaultScope *string         `json:"default_scope"`
	EnvCfg       json.RawMessage `json:"env_cfg"`
	LogLevel     *string         `json:"log_level"`
	Launcher     *string         `json:"launcher"`
	Visualizer   *struct {
		Type        string `json:"type"`
		VisBackends []struct {
			Type string `json:"type"`
		} `json:"vis_backends"`
		Name *string `json:"name"`
	} `json:"visualizer"`
}

func (runtimeCfg) AllowUnknownFields() bool { return true }

type randomnessCfg struct {
	Seed          *int64 `json:"seed"`
	Deterministic bool   `json:"deterministic"`
	DiffRankSeed  bool   `json:"diff_rank_seed"`
}

type autoScaleLRCfg struct {
	Enable        bool `json:"enable"`
	BaseBatchSize *int `json:"base_batch_size"`
}

type loopCfg struct {
	Type             string          `json:"type"`
	ByEpoch          *bool           `json:"by_epoch"`
	MaxEpochs        *int            `json:"max_epochs"`
	MaxIters         *int            `json:"max_iters"`
	ValBegin         *int            `json:"val_begin"`
	ValInterval      *int            `json:"val_interval"`
	DynamicIntervals json.RawMessage `json:"dynamic_intervals"`
}

// TrainSpec builds a training run from cfg: the model, loss, data,
// optimizer, schedulers, loops and hooks, each `type` decoded strictly
// into its Go object. A key or type mmpretrain accepts and this
// implementation does not do is an *UnsupportedError naming it and the
// file; a bad value a *ValueError (or a config.Error).
func TrainSpec(cfg *config.Config, opts TrainOptions) (*train.Spec, error) {
	b := &specBuilder{cfg: cfg, reg: opts.Registry, spec: &train.Spec{ConfigText: cfg.PrettyText(), ConfigFile: cfg.Filename}}
	if b.reg == nil {
		b.reg = TrainRegistry()
	}
	s := b.spec
	var rt runtimeCfg
	if err := cfg.Decode("", &rt); err != nil {
		return nil, err
	}
	if rt.DefaultScope != nil && *rt.DefaultScope != "mmpretrain" && *rt.DefaultScope != "mmcls" {
		return nil, b.unsupported("default_scope", "%q (the registry scope is mmpretrain)", *rt.DefaultScope)
	}
	if rt.Launcher != nil && *rt.Launcher != "none" {
		return nil, b.unsupported("launcher", "%q (one CPU process)", *rt.Launcher)
	}
	if v := rt.Visualizer; v != nil {
		for _, vb := range v.VisBackends {
			if vb.Type != "LocalVisBackend" {
				return nil, b.unsupported("visualizer.vis_backends", "%q (vis_data/scalars.json is written as LocalVisBackend does)", vb.Type)
			}
		}
	}
	for _, k := range []string{"model_wrapper_cfg", "compile", "strategy", "activation_checkpointing", "efficient_conv_bn_eval"} {
		if b.has(k) {
			return nil, b.unsupported(k, "set in the config")
		}
	}
	if b.has("work_dir") {
		if err := cfg.Decode("work_dir", &s.WorkDir); err != nil {
			return nil, err
		}
	}
	var err error
	if s.Model, err = ModelConfig(cfg); err != nil {
		return nil, err
	}
	if err := b.modelTraining(); err != nil {
		return nil, err
	}
	if s.Norm, err = Normalizer(cfg); err != nil {
		return nil, err
	}
	if err := b.loops(); err != nil {
		return nil, err
	}
	td, err := b.dataloader("train_dataloader", true)
	if err != nil {
		return nil, err
	}
	s.Train = *td
	n := 0
	for _, k := range []string{"val_dataloader", "val_cfg", "val_evaluator"} {
		if b.has(k) {
			n++
		}
	}
	if n != 0 && n != 3 {
		return nil, b.bad("val_cfg", "val_dataloader, val_cfg, and val_evaluator should be either all None or not None (mmengine's rule)")
	}
	if !opts.NoValidate && n == 3 {
		if s.ValEvaluator, err = evaluate.FromConfig(cfg, "val_evaluator"); err != nil {
			return nil, err
		}
		// A metric the class count cannot give (top-5 of 3 classes) stops
		// upstream at the first validation, after an epoch of training: try
		// one sample now and say it before any work.
		nc := s.Model.NumClasses
		if err := s.ValEvaluator.Process(make([]float32, nc), nc, []int{0}); err != nil {
			return nil, b.bad("val_evaluator", "%v", err)
		}
		s.ValEvaluator.Reset()
		if s.Val, err = b.dataloader("val_dataloader", false); err != nil {
			return nil, err
		}
	}
	if err := b.optimizer(); err != nil {
		return nil, err
	}
	if err := b.schedulers(); err != nil {
		return nil, err
	}
	if err := b.hooks(); err != nil {
		return nil, err
	}
	var rnd randomnessCfg
	if _, err := b.decode("randomness", &rnd); err != nil {
		return nil, err
	}
	if rnd.DiffRankSeed {
		return nil, b.unsupported("randomness.diff_rank_seed", "True (one process)")
	}
	s.Seed, s.Deterministic = rnd.Seed, rnd.Deterministic
	var asl autoScaleLRCfg
	if _, err := b.decode("auto_scale_lr", &asl); err != nil {
		return nil, err
	}
	s.AutoScaleLR.Enable = asl.Enable
	if asl.BaseBatchSize != nil {
		s.AutoScaleLR.BaseBatchSize = *asl.BaseBatchSize
	}
	if _, err := b.decode("load_from", &s.LoadFrom); err != nil {
		return nil, err
	}
	if _, err := b.decode("resume", &s.Resume); err != nil {
		return nil, err
	}
	return s, nil
}

// loops reads train_cfg and val_cfg.
func (b *specBuilder) loops() error {
	var lc loopCfg
	ok, err := b.decode("train_cfg", &lc)
	if err != nil {
		return err
	}
	if !ok {
		return b.bad("train_cfg", "missing (dict(by_epoch=True, max_epochs=N) or dict(by_epoch=False, max_iters=N))")
	}
	l := &b.spec.Loop
	l.ByEpoch = true
	switch lc.Type {
	case "":
		if lc.ByEpoch != nil {
			l.ByEpoch = *lc.ByEpoch
		}
	case "EpochBasedTrainLoop":
	case "IterBasedTrainLoop":
		l.ByEpoch = false
	default:
		return b.unsupported("train_cfg.type", "%q (EpochBasedTrainLoop, IterBasedTrainLoop)", lc.Type)
	}
	if lc.Type != "" && lc.ByEpoch != nil {
		return b.bad("train_cfg.by_epoch", "set together with type; use one of them")
	}
	if len(lc.DynamicIntervals) > 0 && string(lc.DynamicIntervals) != "null" {
		return b.unsupported("train_cfg.dynamic_intervals", "set")
	}
	if l.ByEpoch {
		if lc.MaxIters != nil {
			return b.bad("train_cfg.max_iters", "set for an epoch-based loop (use max_epochs)")
		}
		if lc.MaxEpochs == nil || *lc.MaxEpochs <= 0 {
			return b.bad("train_cfg.max_epochs", "must be a positive integer for an epoch-based loop")
		}
		l.MaxEpochs = *lc.MaxEpochs
	} else {
		if lc.MaxEpochs != nil {
			return b.bad("train_cfg.max_epochs", "set for an iteration-based loop (use max_iters)")
		}
		if lc.MaxIters == nil || *lc.MaxIters <= 0 {
			return b.bad("train_cfg.max_iters", "must be a positive integer for an iteration-based loop")
		}
		l.MaxIters = *lc.MaxIters
	}
	l.ValBegin, l.ValInterval = 1, 1
	if lc.ValBegin != nil {
		l.ValBegin = *lc.ValBegin
	}
	if lc.ValInterval != nil {
		if *lc.ValInterval <= 0 {
			return b.bad("train_cfg.val_interval", "must be a positive integer, got %d", *lc.ValInterval)
		}
		l.ValInterval = *lc.ValInterval
	}
	var vc struct {
		Type string `json:"type"`
		FP16 bool   `json:"fp16"`
	}
	if _, err := b.decode("val_cfg", &vc); err != nil {
		return err
	}
	if vc.Type != "" && vc.Type != "ValLoop" {
		return b.unsupported("val_cfg.type", "%q (ValLoop)", vc.Type)
	}
	if vc.FP16 {
		return b.unsupported("val_cfg.fp16", "True (float32 on the CPU)")
	}
	return nil
}

// keyList joins the names of a registry for an error message.
func keyList[V any](m map[string]V) string {
	return strings.Join(sortedKeys(m), ", ")
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
