package train

import (
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// Spec is a training run as objects: everything mmengine's Runner builds
// from a config. pkg/setup makes it (setup.TrainSpec); this package reads
// no config of its own.
type Spec struct {
	// ConfigText is the config as mmengine pretty-prints it (the log's
	// Config dump and every checkpoint's meta.cfg); ConfigFile its path.
	ConfigText, ConfigFile string
	// WorkDir is the config's work_dir ("" unset).
	WorkDir string

	Model model.Config
	// Init is the backbone's init_cfg=dict(type='Pretrained', ...) (nil:
	// none). It is applied before load_from, as mmengine's init_weights
	// runs before load_checkpoint.
	Init *PretrainedInit
	Loss Loss
	Norm imagenet.Normalizer

	Train Data
	// Val is the val_dataloader (nil: no validation: no val_dataloader,
	// val_cfg or val_evaluator, or --no-validate).
	Val *Data
	// ValEvaluator is the val_evaluator (with Val).
	ValEvaluator *evaluate.Evaluator

	Optimizer   OptimConfig
	Schedulers  []*Scheduler // param_scheduler, converted and with their default end
	Loop        Loop
	AutoScaleLR AutoScaleLR

	// Hooks are default_hooks and custom_hooks, built (sorted by priority
	// when the run starts).
	Hooks []Hook

	LoadFrom string // load_from ("" none)
	Resume   bool   // resume=True
	// Seed is randomness.seed (nil: None, drawn at random).
	Seed          *int64
	Deterministic bool // randomness.deterministic

	// Warnings are config notes the run logs as WARNING lines before
	// training (things upstream accepts and ignores).
	Warnings []string
}

// Data is a dataloader: its dataset, pipeline and DefaultSampler.
type Data struct {
	Dataset    *imagenet.Dataset
	Pipeline   *imagenet.Pipeline
	BatchSize  int // > 0
	NumWorkers int
	Shuffle    bool // sampler.shuffle
	// Seed is sampler.seed (nil: the run's seed).
	Seed *int64
}

// EpochLength is the number of batches of an epoch (drop_last=False).
func (d *Data) EpochLength() int {
	return (len(d.Dataset.Samples) + d.BatchSize - 1) / d.BatchSize
}

// Loop is train_cfg (EpochBasedTrainLoop or IterBasedTrainLoop) and
// whether the val loop runs.
type Loop struct {
	ByEpoch     bool
	MaxEpochs   int // ByEpoch
	MaxIters    int // !ByEpoch
	ValBegin    int // default 1
	ValInterval int // default 1 (epochs or iterations)
}

// AutoScaleLR is auto_scale_lr: with Enable (or --auto-scale-lr) the
// optimizer's lr is scaled by batch_size / BaseBatchSize (one process).
type AutoScaleLR struct {
	Enable        bool
	BaseBatchSize int // 0: not set
}

// PretrainedInit is init_cfg=dict(type='Pretrained', checkpoint=...,
// prefix=...): the checkpoint's keys under Prefix (without it) are loaded
// into the module the init_cfg belongs to (Module: "backbone" or "head").
type PretrainedInit struct {
	Module     string
	Checkpoint string
	Prefix     string
}
