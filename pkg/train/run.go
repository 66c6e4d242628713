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

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// Options are tools/train.py's arguments, after the config has been loaded
// and --cfg-options merged into it.
type Options struct {
	Config *config.Config
	// WorkDir defaults to the config's work_dir, else
	// ./work_dirs/<config file stem>.
	WorkDir string
	// Resume is "" (no resume), "auto" (--resume without a value: the
	// checkpoint named in WorkDir/last_checkpoint, if any) or a path.
	Resume        string
	NoValidate    bool   // --no-validate
	AutoScaleLR   bool   // --auto-scale-lr
	Seed          *int64 // --seed; else randomness.seed; else random
	Deterministic bool   // --deterministic (the CPU kernels are deterministic for a fixed thread count; recorded only)
	// Workers is the number of data-loading goroutines (0: the config's
	// num_workers capped at GOMAXPROCS).
	Workers int
	// Registry builds the pipelines (nil: imagenet.DefaultRegistry plus
	// RandAugment).
	Registry imagenet.Registry
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
	Epoch, Iter    int
	Metrics        map[string]float64 // last validation metrics
}

type runner struct {
	opts        Options
	cfg         cfgMap
	out, errOut io.Writer
	log         io.Writer // stdout + the log file
	now         func() time.Time

	workDir, stampDir string
	seed              int64
	classes           []string

	m      *model.ImageClassifier
	ws     *model.Workspace
	grads  *model.Grads
	opt    *SGD
	scheds []*Scheduler
	ema    *EMA
	loss   Loss
	recipe *SwitchRecipe

	trainDS   *imagenet.Dataset
	trainPipe *imagenet.Pipeline
	trainBS   int
	valDS     *imagenet.Dataset
	valPipe   *imagenet.Pipeline
	valBS     int
	norm      imagenet.Normalizer
	workers   int
	registry  imagenet.Registry

	byEpoch               bool
	maxEpochs, maxIters   int
	valInterval, valBegin int
	ckptInterval, maxKeep int
	logInterval           int
	epoch, iter           int
	epochLen              int
	itersThisRun          int
	scalars               *os.File
	history               history
	lastMetrics           map[string]float64
	lastCkpt              string
	savedCkpts            []string
}

// Run trains as `python tools/train.py CONFIG` does: it builds the model,
// data, optimizer, schedulers and hooks from opts.Config, trains on the CPU,
// validates every val_interval, writes epoch_N.pth / last_checkpoint,
// mmengine-style logs (stdout, <work_dir>/<timestamp>/<timestamp>.log and
// vis_data/scalars.json) and <work_dir>/training_curves.png.
func Run(ctx context.Context, opts Options, stdout, stderr io.Writer) (*Result, error) {
	if opts.Config == nil {
		return nil, errors.New("train: no config")
	}
	raw, err := opts.Config.JSON()
	if err != nil {
		return nil, err
	}
	var cm map[string]any
	if err := json.Unmarshal(raw, &cm); err != nil {
		return nil, err
	}
	r := &runner{opts: opts, cfg: cfgMap(cm), out: stdout, errOut: stderr, now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	if err := r.setup(); err != nil {
		return nil, err
	}
	defer r.close()
	if err := r.train(ctx); err != nil {
		return r.result(), err
	}
	return r.result(), nil
}

func (r *runner) result() *Result {
	return &Result{WorkDir: r.workDir, LastCheckpoint: r.lastCkpt, Epoch: r.epoch, Iter: r.iter, Metrics: r.lastMetrics}
}

func (r *runner) close() {
	if r.scalars != nil {
		r.scalars.Close()
	}
	if c, ok := r.log.(io.Closer); ok {
		c.Close()
	}
}

func (r *runner) warnf(format string, args ...any) {
	fmt.Fprintf(r.log, "%s - mmengine - WARNING - %s\n", r.now().Format("01/02 15:04:05"), fmt.Sprintf(format, args...))
}

func (r *runner) infof(format string, args ...any) {
	fmt.Fprintf(r.log, "%s - mmengine - INFO - %s\n", r.now().Format("01/02 15:04:05"), fmt.Sprintf(format, args...))
}

type teeCloser struct {
	io.Writer
	f *os.File
}

func (t teeCloser) Close() error { return t.f.Close() }

func (r *runner) setup() error {
	c := r.cfg
	// Work dir and log files.
	r.workDir = r.opts.WorkDir
	if r.workDir == "" {
		r.workDir = c.str("work_dir", "")
	}
	if r.workDir == "" {
		stem := strings.TrimSuffix(filepath.Base(r.opts.Config.Filename), filepath.Ext(r.opts.Config.Filename))
		r.workDir = filepath.Join("work_dirs", stem)
	}
	stamp := r.now().Format("20060102_150405")
	r.stampDir = filepath.Join(r.workDir, stamp)
	if err := os.MkdirAll(filepath.Join(r.stampDir, "vis_data"), 0o755); err != nil {
		return err
	}
	lf, err := os.Create(filepath.Join(r.stampDir, stamp+".log"))
	if err != nil {
		return err
	}
	r.log = teeCloser{io.MultiWriter(r.out, lf), lf}
	if r.scalars, err = os.OpenFile(filepath.Join(r.stampDir, "vis_data", "scalars.json"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return err
	}

	// Seed.
	switch {
	case r.opts.Seed != nil:
		r.seed = *r.opts.Seed
	default:
		if v, ok := c.get("randomness.seed"); ok && v != nil {
			f, _ := toFloat(v)
			r.seed = int64(f)
		} else {
			r.seed = int64(randv2.Uint32())
		}
	}
	r.infof("Config:\n%s", r.opts.Config.PrettyText())
	r.infof("seed: %d, deterministic: %v", r.seed, r.opts.Deterministic || c.boolean("randomness.deterministic", false))

	// Model.
	mc, err := ModelConfig(c.dict("model"))
	if err != nil {
		return err
	}
	if r.m, err = model.New(mc); err != nil {
		return err
	}
	r.m.InitWeights(rand.New(rand.NewSource(r.seed)))
	r.grads = r.m.NewGrads()
	r.ws = model.NewWorkspace()
	if r.loss, err = NewLoss(c.dict("model.head.loss")); err != nil {
		return err
	}

	// Data.
	r.registry = r.opts.Registry
	if r.registry == nil {
		r.registry = imagenet.DefaultRegistry()
		imagenet.RegisterRandAugment(r.registry)
	}
	if err := r.setupData(); err != nil {
		return err
	}

	// Loop config.
	r.byEpoch = c.boolean("train_cfg.by_epoch", true)
	if t := c.str("train_cfg.type", ""); t == "IterBasedTrainLoop" {
		r.byEpoch = false
	} else if t == "EpochBasedTrainLoop" {
		r.byEpoch = true
	}
	me, _ := c.num("train_cfg.max_epochs", 0)
	mi, _ := c.num("train_cfg.max_iters", 0)
	vi, _ := c.num("train_cfg.val_interval", 1)
	vb, _ := c.num("train_cfg.val_begin", 1)
	r.maxEpochs, r.maxIters, r.valInterval, r.valBegin = int(me), int(mi), int(vi), int(vb)
	if r.byEpoch && r.maxEpochs <= 0 {
		return configErrorf("train_cfg.max_epochs", "must be positive for an epoch-based loop")
	}
	if !r.byEpoch && r.maxIters <= 0 {
		return configErrorf("train_cfg.max_iters", "must be positive for an iteration-based loop")
	}
	ci, _ := c.num("default_hooks.checkpoint.interval", 1)
	mk, _ := c.num("default_hooks.checkpoint.max_keep_ckpts", -1)
	li, _ := c.num("default_hooks.logger.interval", 100)
	r.ckptInterval, r.maxKeep, r.logInterval = int(ci), int(mk), max(1, int(li))

	// Optimizer.
	oc, err := r.optimConfig()
	if err != nil {
		return err
	}
	if r.opt, err = NewSGD(r.m, r.grads, oc); err != nil {
		return err
	}
	if r.opts.AutoScaleLR || c.boolean("auto_scale_lr.enable", false) {
		base, _ := c.num("auto_scale_lr.base_batch_size", 0)
		if base <= 0 {
			return configErrorf("auto_scale_lr.base_batch_size", "needed with --auto-scale-lr")
		}
		f := float64(r.trainBS) / base // world size 1
		r.opt.ScaleLR(f)
		r.infof("LR has been automatically scaled from %g to %g", oc.LR, oc.LR*f)
	}
	r.epochLen = (len(r.trainDS.Samples) + r.trainBS - 1) / r.trainBS // drop_last=False
	if r.scheds, err = BuildSchedulers(dictList(c["param_scheduler"]), r.opt, r.epochLen); err != nil {
		return err
	}

	// Hooks.
	for i, h := range dictList(c["custom_hooks"]) {
		key := fmt.Sprintf("custom_hooks.%d", i)
		switch t, _ := h["type"].(string); t {
		case "EMAHook":
			mom := 0.0002
			if v, ok := toFloat(h["momentum"]); ok {
				mom = v
			}
			if ema, _ := h["ema_type"].(string); ema != "" && ema != "ExponentialMovingAverage" {
				return configErrorf(key+".ema_type", "%q is not supported", ema)
			}
			ub, _ := h["update_buffers"].(bool)
			if r.ema, err = NewEMA(r.m, mom, ub); err != nil {
				return err
			}
		case "SwitchRecipeHook":
			if r.recipe, err = NewSwitchRecipe(h["schedule"], func(msg string) { r.warnf("%s", msg) }); err != nil {
				return err
			}
		default:
			return configErrorf(key+".type", "hook %q is not supported (EMAHook, SwitchRecipeHook)", t)
		}
	}

	// Weights: resume, else load_from.
	if err := r.loadWeights(); err != nil {
		return err
	}
	return nil
}

func (r *runner) optimConfig() (OptimConfig, error) {
	c := r.cfg
	if t := c.str("optim_wrapper.type", "OptimWrapper"); t != "OptimWrapper" {
		return OptimConfig{}, configErrorf("optim_wrapper.type", "%q is not supported (OptimWrapper)", t)
	}
	if t := c.str("optim_wrapper.optimizer.type", ""); t != "SGD" {
		return OptimConfig{}, configErrorf("optim_wrapper.optimizer.type", "%q is not supported (SGD)", t)
	}
	var oc OptimConfig
	var err error
	if oc.LR, err = c.num("optim_wrapper.optimizer.lr", -1); err != nil || oc.LR < 0 {
		return oc, configErrorf("optim_wrapper.optimizer.lr", "missing or invalid")
	}
	oc.Momentum, _ = c.num("optim_wrapper.optimizer.momentum", 0)
	oc.Dampening, _ = c.num("optim_wrapper.optimizer.dampening", 0)
	oc.WeightDecay, _ = c.num("optim_wrapper.optimizer.weight_decay", 0)
	oc.Nesterov = c.boolean("optim_wrapper.optimizer.nesterov", false)
	mult := func(k string) *float64 {
		if v, ok := c.get("optim_wrapper.paramwise_cfg." + k); ok && v != nil {
			f, _ := toFloat(v)
			return &f
		}
		return nil
	}
	oc.NormDecayMult, oc.BiasDecayMult, oc.BiasLRMult, oc.DWConvDecayMult = mult("norm_decay_mult"), mult("bias_decay_mult"), mult("bias_lr_mult"), mult("dwconv_decay_mult")
	if pc := c.dict("optim_wrapper.paramwise_cfg"); pc != nil {
		for k := range pc {
			switch k {
			case "norm_decay_mult", "bias_decay_mult", "bias_lr_mult", "dwconv_decay_mult":
			default:
				return oc, configErrorf("optim_wrapper.paramwise_cfg."+k, "not supported")
			}
		}
	}
	return oc, nil
}

func (r *runner) datasetConfig(key string) (imagenet.DatasetConfig, error) {
	d := r.cfg.dict(key + ".dataset")
	if d == nil {
		return imagenet.DatasetConfig{}, configErrorf(key+".dataset", "missing")
	}
	dc := imagenet.DatasetConfig{}
	dc.Type, _ = d["type"].(string)
	dc.DataRoot, _ = d["data_root"].(string)
	dc.Split, _ = d["split"].(string)
	dc.AnnFile, _ = d["ann_file"].(string)
	switch p := d["data_prefix"].(type) {
	case string:
		dc.DataPrefix = p
	case map[string]any:
		dc.DataPrefix, _ = p["img_path"].(string)
	}
	if b, ok := d["with_label"].(bool); ok {
		dc.WithLabel = &b
	}
	if mi, ok := d["metainfo"].(map[string]any); ok {
		for _, v := range asList(mi["classes"]) {
			s, _ := v.(string)
			dc.Classes = append(dc.Classes, s)
		}
	}
	return dc, nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func (r *runner) pipeline(steps any, key string) (*imagenet.Pipeline, error) {
	ps := dictList(steps)
	if len(ps) == 0 {
		return nil, configErrorf(key, "empty pipeline")
	}
	p, err := r.registry.NewPipeline(ps)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", key, err)
	}
	return p, nil
}

func (r *runner) setupData() error {
	c := r.cfg
	dc, err := r.datasetConfig("train_dataloader")
	if err != nil {
		return err
	}
	if r.trainDS, err = imagenet.NewDataset(dc); err != nil {
		return err
	}
	if r.trainPipe, err = r.pipeline(c.dict("train_dataloader.dataset")["pipeline"], "train_dataloader.dataset.pipeline"); err != nil {
		return err
	}
	bs, _ := c.num("train_dataloader.batch_size", 32)
	r.trainBS = int(bs)
	nw, _ := c.num("train_dataloader.num_workers", 2)
	r.workers = r.opts.Workers
	if r.workers <= 0 {
		r.workers = max(1, min(int(nw), runtime.GOMAXPROCS(0)))
	}
	mean, std := []float64{123.675, 116.28, 103.53}, []float64{58.395, 57.12, 57.375}
	if dp := c.dict("data_preprocessor"); dp != nil {
		if l := asList(dp["mean"]); len(l) == 3 {
			for i := range l {
				mean[i], _ = toFloat(l[i])
			}
		}
		if l := asList(dp["std"]); len(l) == 3 {
			for i := range l {
				std[i], _ = toFloat(l[i])
			}
		}
	}
	toRGB := c.boolean("data_preprocessor.to_rgb", false)
	if r.norm, err = imagenet.NewNormalizer(mean, std, toRGB); err != nil {
		return err
	}
	r.classes = r.trainDS.Classes
	if len(r.classes) == 0 && dc.Type == "ImageNet" {
		r.classes = nil
	}
	nc := r.m.Config.NumClasses
	for _, s := range r.trainDS.Samples {
		if s.Label >= nc {
			return configErrorf("model.head.num_classes", "%d, but the training set has label %d (%s)", nc, s.Label, s.Path)
		}
	}
	if r.opts.NoValidate || c.dict("val_dataloader") == nil || c.dict("val_evaluator") == nil && c["val_evaluator"] == nil {
		return nil
	}
	vdc, err := r.datasetConfig("val_dataloader")
	if err != nil {
		return err
	}
	if r.valDS, err = imagenet.NewDataset(vdc); err != nil {
		return err
	}
	if r.valPipe, err = r.pipeline(c.dict("val_dataloader.dataset")["pipeline"], "val_dataloader.dataset.pipeline"); err != nil {
		return err
	}
	vbs, _ := c.num("val_dataloader.batch_size", 32)
	r.valBS = int(vbs)
	return nil
}

// epochOrder is the shuffled sample order of an epoch: DefaultSampler with
// shuffle=True draws a permutation from seed+epoch.
func epochOrder(n int, seed int64, epoch int) []int {
	rng := randv2.New(randv2.NewPCG(uint64(seed), uint64(epoch)))
	return rng.Perm(n)
}

func (r *runner) train(ctx context.Context) error {
	r.infof("Checkpoints will be saved to %s.", absPath(r.workDir))
	if r.recipe != nil {
		if err := r.recipe.Replay(r.epoch, r); err != nil {
			return err
		}
	}
	start := r.now()
	startIter := r.iter
	totalIters := r.maxIters
	if r.byEpoch {
		totalIters = r.maxEpochs * r.epochLen
	}
	for {
		if r.byEpoch && r.epoch >= r.maxEpochs || !r.byEpoch && r.iter >= r.maxIters {
			break
		}
		if r.recipe != nil {
			if err := r.recipe.BeforeEpoch(r.epoch, r); err != nil {
				return err
			}
		}
		order := epochOrder(len(r.trainDS.Samples), r.seed, r.epoch)
		ld := imagenet.NewLoader(r.trainDS, order, r.trainPipe, r.norm, r.trainBS, r.workers,
			imagenet.LoaderOptions{Seed: uint64(r.seed), Epoch: r.epoch, InFlight: 2 * r.workers})
		var lossSum float64
		var lossN int
		tIter := r.now()
		var dataTime time.Duration
		for idx := 0; ; idx++ {
			t0 := r.now()
			b, err := ld.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				ld.Close()
				return err
			}
			dataTime += r.now().Sub(t0)
			x := &model.Tensor{Shape: []int{b.N, 3, b.H, b.W}, Data: b.Data}
			l, _, err := ComputeGradientsWith(r.ws, r.m, r.grads, r.loss, x, b.Labels)
			if err != nil {
				ld.Close()
				return err
			}
			if math.IsNaN(l) || math.IsInf(l, 0) {
				ld.Close()
				return fmt.Errorf("train: loss became %v at iteration %d", l, r.iter+1)
			}
			lrUsed := r.opt.Groups[0].LR
			r.opt.Step()
			if r.ema != nil {
				r.ema.Update(r.m)
			}
			r.iter++
			r.itersThisRun++
			for _, s := range r.scheds {
				if !s.ByEpoch {
					s.Step(r.opt)
				}
			}
			lossSum += l
			lossN++
			if r.opts.Progress != nil {
				pr := Progress{Epoch: r.epoch + 1, Index: idx + 1, EpochLen: r.epochLen, Iter: r.iter, MaxIters: totalIters, Loss: l, LR: lrUsed}
				if r.byEpoch {
					pr.MaxEpochs = r.maxEpochs
				}
				r.opts.Progress(pr)
			}
			last := idx == r.epochLen-1
			if r.iter%r.logInterval == 0 || last && r.byEpoch {
				el := r.now().Sub(tIter).Seconds() / float64(lossN)
				done := r.iter - startIter
				eta := time.Duration(float64(r.now().Sub(start)) / float64(done) * float64(totalIters-r.iter))
				avg := lossSum / float64(lossN)
				if r.byEpoch {
					fmt.Fprintf(r.log, "%s - mmengine - INFO - Epoch(train) [%d][%*d/%d]  lr: %.4e  eta: %s  time: %.4f  data_time: %.4f  loss: %.4f\n",
						r.now().Format("01/02 15:04:05"), r.epoch+1, len(fmt.Sprint(r.epochLen)), idx+1, r.epochLen, lrUsed, fmtETA(eta), el, dataTime.Seconds()/float64(lossN), avg)
				} else {
					fmt.Fprintf(r.log, "%s - mmengine - INFO - Iter(train) [%*d/%d]  lr: %.4e  eta: %s  time: %.4f  data_time: %.4f  loss: %.4f\n",
						r.now().Format("01/02 15:04:05"), len(fmt.Sprint(r.maxIters)), r.iter, r.maxIters, lrUsed, fmtETA(eta), el, dataTime.Seconds()/float64(lossN), avg)
				}
				r.scalar(map[string]any{"lr": lrUsed, "data_time": dataTime.Seconds() / float64(lossN), "loss": avg, "time": el, "epoch": r.epoch + 1, "iter": r.iter, "step": r.iter})
				r.history.add("loss", r.iter, avg)
				r.history.add("lr", r.iter, lrUsed)
				lossSum, lossN, dataTime, tIter = 0, 0, 0, r.now()
			}
			if !r.byEpoch {
				if r.ckptInterval > 0 && r.iter%r.ckptInterval == 0 || r.iter == r.maxIters {
					if err := r.save(fmt.Sprintf("iter_%d.pth", r.iter), false); err != nil {
						ld.Close()
						return err
					}
				}
				if r.valDS != nil && r.valInterval > 0 && (r.iter%r.valInterval == 0 || r.iter == r.maxIters) {
					if err := r.validate(ctx); err != nil {
						ld.Close()
						return err
					}
				}
				if r.iter >= r.maxIters {
					break
				}
			}
			if r.opts.StopAfterIters > 0 && r.itersThisRun >= r.opts.StopAfterIters {
				ld.Close()
				return ErrStopped
			}
		}
		ld.Close()
		if !r.byEpoch {
			r.epoch++
			continue
		}
		for _, s := range r.scheds {
			if s.ByEpoch {
				s.Step(r.opt)
			}
		}
		if r.ckptInterval > 0 && ((r.epoch+1)%r.ckptInterval == 0 || r.epoch+1 == r.maxEpochs) {
			if err := r.save(fmt.Sprintf("epoch_%d.pth", r.epoch+1), true); err != nil {
				return err
			}
		}
		r.epoch++
		if r.valDS != nil && r.valInterval > 0 && r.epoch >= r.valBegin && (r.epoch%r.valInterval == 0 || r.epoch == r.maxEpochs) {
			if err := r.validate(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func fmtETA(d time.Duration) string {
	s := int(d.Seconds())
	days := s / 86400
	s %= 86400
	out := fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	if days > 0 {
		return fmt.Sprintf("%d day(s), %s", days, out)
	}
	return out
}

func (r *runner) scalar(v map[string]any) {
	b, _ := json.Marshal(v)
	r.scalars.Write(append(b, '\n'))
}

// validate runs the val loop (on the EMA weights when the EMAHook is on)
// and computes Accuracy(topk=(1, 5)).
func (r *runner) validate(ctx context.Context) error {
	if r.ema != nil {
		r.ema.swapWith(r.m)
		defer r.ema.swapWith(r.m)
	}
	t0 := r.now()
	ld := imagenet.NewLoader(r.valDS, nil, r.valPipe, r.norm, r.valBS, r.workers, imagenet.LoaderOptions{InFlight: 2})
	defer ld.Close()
	var correct1, correct5, n int
	nb := ld.NumBatches()
	for {
		b, err := ld.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		logits, err := r.m.Forward(&model.Tensor{Shape: []int{b.N, 3, b.H, b.W}, Data: b.Data})
		if err != nil {
			return err
		}
		scores := model.Softmax(logits)
		k := logits.Shape[1]
		for i := 0; i < b.N; i++ {
			row := scores.Data[i*k : (i+1)*k]
			lab := b.Labels[i]
			if lab < 0 || lab >= k {
				continue
			}
			rank := 0
			for j, v := range row {
				if v > row[lab] || v == row[lab] && j < lab {
					rank++
				}
			}
			if row[lab] > 0 {
				if rank < 1 {
					correct1++
				}
				if rank < 5 {
					correct5++
				}
			}
			n++
		}
	}
	top1 := float64(float32(correct1) * float32(100/float64(n)))
	top5 := float64(float32(correct5) * float32(100/float64(n)))
	el := r.now().Sub(t0).Seconds()
	fmt.Fprintf(r.log, "%s - mmengine - INFO - Epoch(val) [%d][%d/%d]    accuracy/top1: %.4f  accuracy/top5: %.4f  data_time: %.4f  time: %.4f\n",
		r.now().Format("01/02 15:04:05"), r.epoch, nb, nb, top1, top5, 0.0, el/float64(max(nb, 1)))
	r.lastMetrics = map[string]float64{"accuracy/top1": top1, "accuracy/top5": top5}
	r.scalar(map[string]any{"accuracy/top1": top1, "accuracy/top5": top5, "time": el / float64(max(nb, 1)), "step": r.stepForVal()})
	r.history.add("top1", r.stepForVal(), top1)
	return r.history.plot(filepath.Join(r.workDir, "training_curves.png"), r.byEpoch, r.epochLen)
}

func (r *runner) stepForVal() int {
	if r.byEpoch {
		return r.epoch
	}
	return r.iter
}
