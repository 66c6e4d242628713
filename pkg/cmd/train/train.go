// Package train implements `mobileone train`, mmpretrain's tools/train.py:
// train (or fine-tune) a MobileOne classifier from a config on the CPU.
package train

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/dist"
	"github.com/mobileone-go/mobileone/pkg/setup"
	trainlib "github.com/mobileone-go/mobileone/pkg/train"
)

// Options are the parsed arguments of train.
type Options struct {
	IO            *cmdutil.IOStreams
	Now           func() time.Time
	Config        string
	WorkDir       string
	Resume        string // "" no resume, "auto" (--resume alone) or a checkpoint path
	NoValidate    bool
	AutoScaleLR   bool
	CfgOptions    []string
	Seed          *int64
	Deterministic bool
	Workers       int

	// stopAfterIters ends the run as a kill would after that many
	// iterations (tests of --resume).
	stopAfterIters int
}

// NewCmdTrain returns the train command.
func NewCmdTrain(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Now: f.Now}
	var seed string
	var amp, noPin, noPersistent bool
	var launcher string
	var localRank int
	cmd := &cobra.Command{
		Use:   "train CONFIG",
		Short: "Train or fine-tune a MobileOne classifier from a config",
		Long: `Train a model as mmpretrain's tools/train.py does, on the CPU. The config is
read by the same strict layer as test (every type= decoded into its object; a key
or type mmpretrain has that is not implemented is a "not supported" error): the
model (MobileOne backbone, GlobalAveragePooling neck, LinearClsHead with
LabelSmoothLoss or CrossEntropyLoss), train_dataloader (ImageNet or CustomDataset,
folder or annotation-file layout) through its pipeline (RandomResizedCrop,
RandomFlip, RandAugment, ResizeEdge, CenterCrop, ...), SGD, Adam or AdamW with
paramwise_cfg, fine-tuning options (frozen_stages, norm_eval, norm_cfg),
mmengine's parameter schedulers (LinearLR, ConstantLR, CosineAnnealingLR,
MultiStepLR, StepLR, PolyLR, ExponentialLR, OneCycleLR and their momentum and
ParamScheduler variants), and mmengine's loop with the default_hooks and
custom_hooks (IterTimerHook, LoggerHook, ParamSchedulerHook, CheckpointHook,
DistSamplerSeedHook, EMAHook, SwitchRecipeHook) at mmengine's priorities.

The work directory (--work-dir, else the config's work_dir, else
./work_dirs/<config name>) receives what mmengine writes there: epoch_N.pth or
iter_N.pth checkpoints (loadable by torch and mmpretrain; with the EMAHook their
state_dict holds the averaged weights), last_checkpoint, <timestamp>/<timestamp>.log,
<timestamp>/vis_data/scalars.json (one JSON object per logged step) and
training_curves.png (loss, lr and validation accuracy).

Validation runs every train_cfg.val_interval with the val_dataloader and the
val_evaluator (Accuracy) unless --no-validate. load_from in the config fine-tunes
from a checkpoint (strict=False: a head with another class count is left as
initialized); the backbone's init_cfg=dict(type='Pretrained', prefix=...) loads
the prefixed keys of a checkpoint.

Checkpoints are written to a temporary file and renamed, so a kill never leaves a
corrupt one. --resume restarts from the last checkpoint of the work directory
(or the one given: --resume PATH or --resume=PATH) with the model, EMA, optimizer
and scheduler states, and the run ends with the same weights as an uninterrupted
one. --amp is refused (float32 on the CPU). Ctrl-C stops after the
current iteration, or abandons the checkpoint being written (the previous one
stays the last).

Log lines go to stdout; on a terminal a progress bar is drawn on stderr.`,
		Example: `  # fine-tune MobileOne-S0 on your own folder dataset (train/<class>/*.png, val/<class>/*.png)
  mobileone train configs/mobileone/mobileone-s0_fashionmnist.py --work-dir work_dirs/fmnist
  mobileone train configs/mobileone/mobileone-s0_fashionmnist.py --cfg-options train_dataloader.dataset.data_root=data/mine val_dataloader.dataset.data_root=data/mine model.head.num_classes=5

  # resume an interrupted run from the last checkpoint of its work directory
  mobileone train configs/mobileone/mobileone-s0_fashionmnist.py --work-dir work_dirs/fmnist --resume

  # ImageNet recipe, with the learning rate scaled to the batch size
  mobileone train mobileone-s0_8xb32_in1k --auto-scale-lr --seed 0`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(c *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return printconfig.CompleteConfig(c, args, s)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = args[0]
			if cmd.Flags().Changed("seed") {
				v, err := strconv.ParseInt(seed, 10, 64)
				if err != nil {
					return cmdutil.FlagErrorf("--seed %q is not an integer", seed)
				}
				opts.Seed = &v
			}
			if opts.Workers < 0 {
				return cmdutil.FlagErrorf("--workers must not be negative")
			}
			if cmd.Flags().Changed("resume") && opts.Resume == "" {
				return cmdutil.FlagErrorf("--resume needs a checkpoint path or no value (auto)")
			}
			if amp {
				return cmdutil.FlagErrorf("--amp: automatic mixed precision is not supported: training runs in float32 on the CPU")
			}
			if launcher != dist.LauncherNone {
				return cmdutil.FlagErrorf("--launcher %s is not supported: training runs in one process (--launcher none)", launcher)
			}
			if localRank != 0 {
				return cmdutil.FlagErrorf("--local-rank %d is not supported: training runs in one process (rank 0)", localRank)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.WorkDir, "work-dir", "", "where to save logs and checkpoints (default: the config's work_dir, else ./work_dirs/<config name>)")
	fl.StringVar(&opts.Resume, "resume", "", "resume from `CHECKPOINT` (--resume PATH or --resume=PATH); without a value, from the work directory's last checkpoint")
	fl.Lookup("resume").NoOptDefVal = "auto"
	fl.BoolVar(&opts.NoValidate, "no-validate", false, "do not validate during training")
	fl.BoolVar(&opts.AutoScaleLR, "auto-scale-lr", false, "scale the learning rate by batch_size / auto_scale_lr.base_batch_size")
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	fl.StringVar(&seed, "seed", "", "random seed (default: randomness.seed of the config, else random)")
	fl.BoolVar(&opts.Deterministic, "deterministic", false, "record deterministic=True (the CPU kernels are deterministic for a given thread count)")
	fl.IntVar(&opts.Workers, "workers", 0, "data-loading goroutines (default: train_dataloader.num_workers, at most the number of CPUs)")
	fl.BoolVar(&amp, "amp", false, "automatic mixed precision (refused: training runs in float32 on the CPU)")
	fl.BoolVar(&noPin, "no-pin-memory", false, "accepted for tools/train.py compatibility (CPU batches are never pinned)")
	fl.BoolVar(&noPersistent, "no-persistent-workers", false, "accepted for tools/train.py compatibility (the data-loading goroutines live for one epoch)")
	fl.StringVar(&launcher, "launcher", dist.LauncherNone, "job launcher (only none: one process)")
	fl.IntVar(&localRank, "local-rank", 0, "process rank (only 0)")
	fl.IntVar(&localRank, "local_rank", 0, "process rank (only 0)")
	_ = fl.MarkHidden("local_rank")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	cfg, err := config.LoadWithOptions(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	spec, err := setup.TrainSpec(cfg, setup.TrainOptions{NoValidate: opts.NoValidate})
	if err != nil {
		return err
	}
	bar := newProgressBar(opts.IO)
	res, err := trainlib.Run(ctx, spec, trainlib.Options{
		WorkDir: opts.WorkDir, Resume: opts.Resume,
		AutoScaleLR: opts.AutoScaleLR, Deterministic: opts.Deterministic, Seed: opts.Seed,
		Workers: opts.Workers, StopAfterIters: opts.stopAfterIters,
		Now: opts.Now, Progress: bar.update,
	}, opts.IO.Out, opts.IO.ErrOut)
	bar.finish()
	if err != nil {
		if errors.Is(err, trainlib.ErrStopped) {
			return err
		}
		if ctx.Err() != nil {
			msg := "training interrupted"
			if res != nil && res.LastCheckpoint != "" {
				msg += fmt.Sprintf("; the last checkpoint is %s (continue with --resume)", res.LastCheckpoint)
			}
			fmt.Fprintln(opts.IO.ErrOut, msg)
			return fmt.Errorf("%w: %v", cmdutil.ErrCancel, err)
		}
		return err
	}
	if res.ResumedFrom != "" {
		fmt.Fprintf(opts.IO.ErrOut, "Resumed from %s (epoch %d, iteration %d)\n", res.ResumedFrom, res.Epoch, res.Iter)
	}
	if res.AlreadyDone {
		fmt.Fprintf(opts.IO.ErrOut, "Nothing to train: %s is already at the end of the run (epoch %d, iteration %d); raise train_cfg.max_epochs/max_iters to train further\n", res.ResumedFrom, res.Epoch, res.Iter)
		return nil
	}
	if res.LastCheckpoint != "" {
		fmt.Fprintf(opts.IO.ErrOut, "Training finished at epoch %d, iteration %d; last checkpoint %s\n", res.Epoch, res.Iter, res.LastCheckpoint)
	}
	if len(res.Metrics) > 0 {
		var parts []string
		for _, m := range res.Metrics {
			if m.Scalar() {
				parts = append(parts, m.Name+" "+m.LogValue())
			}
		}
		fmt.Fprintf(opts.IO.ErrOut, "Last validation: %s\n", strings.Join(parts, "  "))
	}
	return nil
}

// progressBar draws one bar per epoch (or one for an iteration-based run)
// on a terminal's stderr; it does nothing otherwise (the log lines are
// the progress report then).
type progressBar struct {
	ios   *cmdutil.IOStreams
	bar   *progressbar.ProgressBar
	epoch int
}

func newProgressBar(ios *cmdutil.IOStreams) *progressBar {
	return &progressBar{ios: ios}
}

func (p *progressBar) update(pr trainlib.Progress) {
	if !p.ios.IsStderrTTY() {
		return
	}
	total, done, desc := pr.EpochLen, pr.Index, fmt.Sprintf("epoch %d/%d", pr.Epoch, pr.MaxEpochs)
	if pr.MaxEpochs == 0 {
		total, done, desc = pr.MaxIters, pr.Iter, "train"
	}
	if p.bar == nil || pr.MaxEpochs > 0 && pr.Epoch != p.epoch {
		if p.bar != nil {
			_ = p.bar.Finish()
		}
		p.epoch = pr.Epoch
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.ios.ErrOut), progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("it"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	p.bar.Describe(fmt.Sprintf("%s loss %.4f", desc, pr.Loss))
	_ = p.bar.Set(done)
}

func (p *progressBar) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
