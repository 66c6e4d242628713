package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	randv2 "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mobileone-go/mobileone/pkg/dist"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// Options are tools/train.py's run-time arguments; the config itself comes
// as a Spec.
type Options struct {
	// WorkDir defaults to the config's work_dir, else
	// ./work_dirs/<config file stem>.
	WorkDir string
	// Resume is "" (no resume), "auto" (--resume without a value: the
	// checkpoint named in WorkDir/last_checkpoint, if any) or a path.
	Resume        string
	AutoScaleLR   bool   // --auto-scale-lr
	Seed          *int64 // --seed; else randomness.seed; else random
	Deterministic bool   // --deterministic (the CPU kernels are deterministic for a fixed thread count; recorded only)
	// Workers is the number of data-loading goroutines (0: the config's
	// num_workers capped at GOMAXPROCS).
	Workers int
	// StopAfterIters stops the run (as a kill would) after this many
	// iterations in this process; 0 = no limit. For tests of resume.
	StopAfterIters int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Progress, when set, is called after every training iteration with
	// the position in the run (for a progress bar).
	Progress func(Progress)
}

// Progress is where a run stands after an iteration.
type Progress struct {
	Epoch, MaxEpochs int // 1-based epoch; MaxEpochs 0 for an iteration-based loop
	Index, EpochLen  int // iterations done in this epoch and its length
	Iter, MaxIters   int // iterations done in the run and their total
	Loss, LR         float64
}

// ErrStopped is returned when StopAfterIters ended the run early.
var ErrStopped = errors.New("train: stopped after the requested number of iterations")

// Result summarizes a finished run.
type Result struct {
	WorkDir        string
	LastCheckpoint string
	ResumedFrom    string // the checkpoint the run resumed from ("" none)
	// AlreadyDone reports a resumed run that had nothing left to train.
	AlreadyDone bool
	Epoch, Iter int
	Metrics     []Metric // last validation metrics
}

// Runner is mmengine's Runner for one training run: the model, optimizer,
// schedulers, loops and hooks, and the counters the hooks read. Epoch and
// Iter count what is done; they are incremented after the after_train_epoch
// and after_train_iter hooks, as mmengine's loops do.
type Runner struct {
	Spec *Spec
	opts Options
	// ctx is Run's context (Ctrl-C): the checkpoint writes of the hooks,
	// which mmengine's hook signatures give no context, stop on it.
	ctx context.Context

	out  io.Writer
	log  io.Writer // stdout + the log file
	now  func() time.Time
	logF *os.File

	WorkDir, stampDir string
	Seed              int64

	Model      *model.ImageClassifier
	Optim      *Optimizer
	Schedulers []*Scheduler
	Loss       Loss
	TrainPipe  *imagenet.Pipeline
	ws         *model.Workspace
	grads      *model.Grads

	Epoch, Iter int
	EpochLen    int
	MaxIters    int
	// samplerEpoch is the epoch the train sampler shuffles for
	// (DistSamplerSeedHook sets it; without the hook every epoch uses
	// epoch 0's order, as DefaultSampler does).
	samplerEpoch int
	// Resumed is mmengine's runner._resume: the run resumed a checkpoint.
	Resumed     bool
	resumedFrom string
	// DataTime and IterTime are the IterTimerHook's measurements of the
	// current iteration.
	DataTime, IterTime time.Duration

	hooks        []Hook
	itersThisRun int
	scalars      *os.File
	history      history
	LastMetrics  []Metric
	LastCkpt     string
	valStats     valStats
}

// Run trains as `python tools/train.py CONFIG` does: it builds the model,
// optimizer and schedulers of spec, calls the hooks around mmengine's
// EpochBasedTrainLoop or IterBasedTrainLoop, validates every val_interval,
// and writes mmengine's work-dir files: checkpoints, last_checkpoint, logs
// (stdout, <work_dir>/<timestamp>/<timestamp>.log, vis_data/scalars.json)
// and <work_dir>/training_curves.png.
func Run(ctx context.Context, spec *Spec, opts Options, stdout, stderr io.Writer) (*Result, error) {
	if spec == nil {
		return nil, errors.New("train: no spec")
	}
	r := &Runner{Spec: spec, opts: opts, ctx: ctx, out: stdout, now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	if err := r.setup(); err != nil {
		r.close()
		return nil, err
	}
	defer r.close()
	err := r.train(ctx)
	return r.result(), err
}

func (r *Runner) result() *Result {
	res := &Result{WorkDir: r.WorkDir, LastCheckpoint: r.LastCkpt, ResumedFrom: r.resumedFrom, Epoch: r.Epoch, Iter: r.Iter, Metrics: r.LastMetrics}
	res.AlreadyDone = r.resumedFrom != "" && r.itersThisRun == 0 && r.done()
	return res
}

func (r *Runner) close() {
	if r.scalars != nil {
		r.scalars.Close()
	}
	if r.logF != nil {
		r.logF.Close()
	}
}

// Warnf and Infof write mmengine-style log lines (stdout and the log file).
func (r *Runner) Warnf(format string, args ...any) { r.logf("WARNING", format, args...) }

// Infof writes an INFO log line.
func (r *Runner) Infof(format string, args ...any) { r.logf("INFO", format, args...) }

func (r *Runner) logf(level, format string, args ...any) {
	fmt.Fprintf(r.log, "%s - mmengine - %s - %s\n", r.now().Format("01/02 15:04:05"), level, fmt.Sprintf(format, args...))
}

// ByEpoch reports an epoch-based train loop.
func (r *Runner) ByEpoch() bool { return r.Spec.Loop.ByEpoch }

// MaxEpochs is train_cfg.max_epochs (0 for an iteration-based loop).
func (r *Runner) MaxEpochs() int {
	if r.ByEpoch() {
		return r.Spec.Loop.MaxEpochs
	}
	return 0
}

func (r *Runner) done() bool {
	if r.ByEpoch() {
		return r.Epoch >= r.Spec.Loop.MaxEpochs
	}
	return r.Iter >= r.Spec.Loop.MaxIters
}

func (r *Runner) setup() error {
	s := r.Spec
	r.WorkDir = r.opts.WorkDir
	if r.WorkDir == "" {
		r.WorkDir = s.WorkDir
	}
	if r.WorkDir == "" {
		stem := strings.TrimSuffix(filepath.Base(s.ConfigFile), filepath.Ext(s.ConfigFile))
		r.WorkDir = filepath.Join("work_dirs", stem)
	}
	stamp := r.now().Format("20060102_150405")
	r.stampDir = filepath.Join(r.WorkDir, stamp)
	if err := os.MkdirAll(filepath.Join(r.stampDir, "vis_data"), 0o755); err != nil {
		return err
	}
	lf, err := os.Create(filepath.Join(r.stampDir, stamp+".log"))
	if err != nil {
		return err
	}
	r.logF = lf
	r.log = io.MultiWriter(r.out, lf)
	if r.scalars, err = os.OpenFile(filepath.Join(r.stampDir, "vis_data", "scalars.json"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return err
	}

	switch {
	case r.opts.Seed != nil:
		r.Seed = *r.opts.Seed
	case s.Seed != nil:
		r.Seed = *s.Seed
	default:
		r.Seed = int64(randv2.Uint32())
	}
	r.Infof("Config:\n%s", s.ConfigText)
	r.Infof("seed: %d, deterministic: %v", r.Seed, r.opts.Deterministic || s.Deterministic)
	for _, w := range s.Warnings {
		r.Warnf("%s", w)
	}

	if r.Model, err = model.New(s.Model); err != nil {
		return err
	}
	r.grads = r.Model.NewGrads()
	r.ws = model.NewWorkspace()
	r.Loss = s.Loss
	r.TrainPipe = s.Train.Pipeline
	nc := r.Model.Config.NumClasses
	for _, smp := range s.Train.Dataset.Samples {
		if smp.Label >= nc {
			return configErrorf("model.head.num_classes", "%d, but the training set has label %d (%s)", nc, smp.Label, smp.Path)
		}
	}
	r.EpochLen = s.Train.EpochLength()
	r.MaxIters = s.Loop.MaxIters
	if s.Loop.ByEpoch {
		r.MaxIters = s.Loop.MaxEpochs * r.EpochLen
	}

	if r.Optim, err = NewOptimizer(r.Model, r.grads, s.Optimizer); err != nil {
		return err
	}
	if r.opts.AutoScaleLR || s.AutoScaleLR.Enable {
		base := s.AutoScaleLR.BaseBatchSize
		if base <= 0 {
			return configErrorf("auto_scale_lr.base_batch_size", "needed with --auto-scale-lr")
		}
		f := float64(s.Train.BatchSize) / float64(base) // world size 1
		r.Optim.ScaleLR(f)
		r.Infof("LR has been automatically scaled from %g to %g", s.Optimizer.LR, s.Optimizer.LR*f)
	}
	for _, sc := range s.Schedulers {
		c := *sc
		if err := c.Init(r.Optim); err != nil {
			return err
		}
		r.Schedulers = append(r.Schedulers, &c)
	}
	r.hooks = sortHooks(s.Hooks)
	if err := r.call("before_run", func(h Hook) error { return h.BeforeRun(r) }); err != nil {
		return err
	}
	// Runner._init_model_weights, then load_or_resume.
	r.Model.InitWeights(rand.New(rand.NewSource(r.Seed)))
	if s.Init != nil {
		if err := r.loadPretrained(*s.Init); err != nil {
			return err
		}
	}
	return r.loadOrResume()
}

// epochOrder is the sample order of an epoch: mmengine's DefaultSampler
// for one process (pkg/dist), with shuffle torch.randperm(n) from a
// generator seeded with seed+epoch (bit-exact), so a run resumed from
// mmengine's checkpoint visits the samples in the order the original
// would.
func epochOrder(n int, shuffle bool, seed int64, epoch int) []int {
	s := dist.NewSampler(n, dist.Env{})
	s.Shuffle, s.Seed, s.Epoch = shuffle, seed, epoch
	return s.Indices()
}

func (r *Runner) workers(d *Data) int {
	if r.opts.Workers > 0 {
		return r.opts.Workers
	}
	return max(1, min(d.NumWorkers, runtime.GOMAXPROCS(0)))
}

func (r *Runner) train(ctx context.Context) error {
	if r.resumedFrom != "" && r.done() {
		r.Warnf("The checkpoint %s is already at the end of training (epoch %d, iter %d); nothing left to train.", r.resumedFrom, r.Epoch, r.Iter)
		return nil
	}
	if err := r.call("before_train", func(h Hook) error { return h.BeforeTrain(r) }); err != nil {
		return err
	}
	s := r.Spec
	if s.Loop.ByEpoch {
		for r.Epoch < s.Loop.MaxEpochs {
			if err := r.runEpoch(ctx); err != nil {
				return err
			}
			l := s.Loop
			if s.Val != nil && r.Epoch >= l.ValBegin && (r.Epoch%l.ValInterval == 0 || r.Epoch == l.MaxEpochs) {
				if err := r.validate(ctx); err != nil {
					return err
				}
			}
		}
	} else if err := r.runEpoch(ctx); err != nil {
		return err
	}
	if err := r.call("after_train", func(h Hook) error { return h.AfterTrain(r) }); err != nil {
		return err
	}
	return r.call("after_run", func(h Hook) error { return h.AfterRun(r) })
}

// runEpoch is EpochBasedTrainLoop.run_epoch, or the whole
// IterBasedTrainLoop (one big epoch over a dataloader that restarts).
func (r *Runner) runEpoch(ctx context.Context) error {
	s := r.Spec
	if err := r.call("before_train_epoch", func(h Hook) error { return h.BeforeTrainEpoch(r) }); err != nil {
		return err
	}
	n := len(s.Train.Dataset.Samples)
	skip := 0
	if !s.Loop.ByEpoch {
		// IterBasedTrainLoop advances the restarted dataloader past the
		// iterations already done.
		skip = r.Iter % r.EpochLen
	}
	start := r.samplerEpoch
	if !s.Loop.ByEpoch {
		start = r.Iter / r.EpochLen
	}
	seed := r.Seed
	if s.Train.Seed != nil {
		seed = *s.Train.Seed
	}
	for pass := start; ; pass++ {
		order := epochOrder(n, s.Train.Shuffle, seed, pass)
		if skip > 0 {
			order = order[min(len(order), skip*s.Train.BatchSize):]
		}
		w := r.workers(&s.Train)
		ld := imagenet.NewLoader(s.Train.Dataset, order, r.TrainPipe, s.Norm, s.Train.BatchSize, w,
			imagenet.LoaderOptions{Seed: uint64(r.Seed), Epoch: pass, InFlight: 2 * w})
		err := r.runIters(ctx, ld, skip)
		ld.Close()
		skip = 0
		if err != nil {
			return err
		}
		if s.Loop.ByEpoch || r.Iter >= r.MaxIters {
			break
		}
	}
	if err := r.call("after_train_epoch", func(h Hook) error { return h.AfterTrainEpoch(r) }); err != nil {
		return err
	}
	if s.Loop.ByEpoch {
		r.Epoch++
	}
	return nil
}

// runIters runs the iterations of one pass over the loader.
func (r *Runner) runIters(ctx context.Context, ld *imagenet.Loader, first int) error {
	s := r.Spec
	for idx := first; ; idx++ {
		if !s.Loop.ByEpoch && r.Iter >= r.MaxIters {
			return nil
		}
		b, err := ld.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := r.call("before_train_iter", func(h Hook) error { return h.BeforeTrainIter(r, idx) }); err != nil {
			return err
		}
		x := &model.Tensor{Shape: []int{b.N, 3, b.H, b.W}, Data: b.Data}
		l, _, err := ComputeGradientsWith(r.ws, r.Model, r.grads, r.Loss, x, b.Labels)
		if err != nil {
			return err
		}
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return fmt.Errorf("train: loss became %v at iteration %d", l, r.Iter+1)
		}
		out := &IterOutput{Loss: l, LR: r.Optim.Groups[0].LR}
		if b := r.Optim.BaseGroup; b != nil {
			lr := b.LR
			out.BaseLR = &lr
		}
		r.Optim.Step()
		if err := r.call("after_train_iter", func(h Hook) error { return h.AfterTrainIter(r, idx, out) }); err != nil {
			return err
		}
		r.Iter++
		r.itersThisRun++
		if r.opts.Progress != nil {
			pr := Progress{Epoch: r.Epoch + 1, Index: idx + 1, EpochLen: r.EpochLen, Iter: r.Iter, MaxIters: r.MaxIters, Loss: l, LR: out.LR}
			if s.Loop.ByEpoch {
				pr.MaxEpochs = s.Loop.MaxEpochs
			}
			r.opts.Progress(pr)
		}
		if !s.Loop.ByEpoch {
			l := s.Loop
			if s.Val != nil && r.Iter >= l.ValBegin && (r.Iter%l.ValInterval == 0 || r.Iter == r.MaxIters) {
				if err := r.validate(ctx); err != nil {
					return err
				}
			}
		}
		if r.opts.StopAfterIters > 0 && r.itersThisRun >= r.opts.StopAfterIters {
			return ErrStopped
		}
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func (r *Runner) scalar(v map[string]any) {
	b, _ := json.Marshal(v)
	r.scalars.Write(append(b, '\n'))
}

// validate is mmengine's ValLoop: before_val_epoch (the EMAHook swaps in
// the averaged weights), the model in eval mode over val_dataloader, the
// val_evaluator, after_val_epoch with the metrics.
func (r *Runner) validate(ctx context.Context) error {
	if err := r.call("before_val_epoch", func(h Hook) error { return h.BeforeValEpoch(r) }); err != nil {
		return err
	}
	v := r.Spec.Val
	ld := imagenet.NewLoader(v.Dataset, nil, v.Pipeline, r.Spec.Norm, v.BatchSize, r.workers(v), imagenet.LoaderOptions{InFlight: 2})
	res, err := evaluate.Run(ctx, r.Model, ld, evaluate.Options{Evaluator: r.Spec.ValEvaluator})
	ld.Close()
	if err != nil {
		return err
	}
	metrics := res.Metrics
	r.LastMetrics = metrics
	r.valStats = valStats{batches: res.Batches, time: res.Time, dataTime: res.DataTime}
	return r.call("after_val_epoch", func(h Hook) error { return h.AfterValEpoch(r, metrics) })
}

// valStats are the timings of the last val loop (the LoggerHook's line).
type valStats struct {
	batches        int
	time, dataTime time.Duration
}
