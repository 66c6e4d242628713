package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/toydata"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	trainlib "github.com/mobileone-go/mobileone/pkg/train"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	ios, _, _, _ := cmdutil.Test()
	var got *Options
	cmd := NewCmdTrain(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(ios.ErrOut)
	cmd.SetErr(ios.ErrOut)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	err := cmd.Execute()
	return got, err
}

func TestArgs(t *testing.T) {
	o, err := parse(t, "cfg.py", "--work-dir", "wd", "--resume", "--no-validate", "--auto-scale-lr",
		"--cfg-options", "a.b=1", "--cfg-options", "c=[1,2]", "--seed", "42", "--deterministic", "--workers", "3")
	if err != nil {
		t.Fatal(err)
	}
	if o.Config != "cfg.py" || o.WorkDir != "wd" || o.Resume != "auto" || !o.NoValidate || !o.AutoScaleLR ||
		strings.Join(o.CfgOptions, ";") != "a.b=1;c=[1,2]" || o.Seed == nil || *o.Seed != 42 || !o.Deterministic || o.Workers != 3 {
		t.Fatalf("options %+v", o)
	}
	o, err = parse(t, "cfg.py", "--resume=work/epoch_3.pth")
	if err != nil || o.Resume != "work/epoch_3.pth" || o.Seed != nil {
		t.Fatalf("options %+v, err %v", o, err)
	}
	o, err = parse(t, "cfg.py")
	if err != nil || o.Resume != "" || o.NoValidate || o.Workers != 0 {
		t.Fatalf("defaults %+v, err %v", o, err)
	}
	for _, bad := range [][]string{{}, {"a.py", "b.py"}, {"cfg.py", "--seed", "x"}, {"cfg.py", "--workers", "-1"}, {"cfg.py", "--bogus"},
		{"cfg.py", "--amp"}, {"cfg.py", "--launcher", "pytorch"}, {"cfg.py", "--local-rank", "1"}, {"cfg.py", "--local_rank=1"}} {
		if _, err := parse(t, bad...); err == nil {
			t.Errorf("%q: no error", bad)
		} else if len(bad) > 0 && bad[0] == "cfg.py" && cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%q: exit code %d for %v, want usage", bad, cmdutil.ExitCode(err), err)
		}
	}
}

func TestHelp(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	cmd := NewCmdTrain(&cmdutil.Factory{IO: ios}, nil)
	cmd.SetArgs([]string{"--help"})
	cmd.SetOut(out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"--resume", "--work-dir", "--cfg-options", "mobileone train configs/mobileone/mobileone-s0_fashionmnist.py"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("help lacks %q", s)
		}
	}
}

func loadSD(t *testing.T, path string) *checkpoint.StateDict {
	t.Helper()
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

// TestOneStepFromCLI: `mobileone train testdata/train/tiny_step.py` from the
// fixture's initial weights saves iter_1.pth equal to upstream's
// tiny_step1_{base_lr,warmup_iter0}.pth (parameters, BN running statistics,
// num_batches_tracked).
func TestOneStepFromCLI(t *testing.T) {
	data := fixtures.Testdata(t, "train/step_data")
	init := fixtures.Testdata(t, "checkpoint/tiny_train.pth")
	// The fine-tuning variants of testdata/train/finetune (the same step
	// with frozen_stages=2 + norm_cfg momentum/eps, or norm_eval).
	extra := map[string][]string{
		"finetune/frozen2_bn": {"model.backbone.frozen_stages=2", "model.backbone.norm_cfg.type=BN", "model.backbone.norm_cfg.momentum=0.03", "model.backbone.norm_cfg.eps=0.001"},
		"finetune/norm_eval":  {"model.backbone.norm_eval=True"},
	}
	for _, variant := range []string{"base_lr", "warmup_iter0", "finetune/frozen2_bn", "finetune/norm_eval"} {
		t.Run(variant, func(t *testing.T) {
			wd := t.TempDir()
			cfg := fixtures.Testdata(t, "train/tiny_step.py")
			if variant == "warmup_iter0" {
				cfg = fixtures.Testdata(t, "train/tiny_step_warmup.py")
			}
			ios, _, out, errOut := cmdutil.Test()
			opts := &Options{IO: ios, Config: cfg, WorkDir: wd, CfgOptions: append([]string{
				"train_dataloader.dataset.data_root=" + data, "load_from=" + init}, extra[variant]...)}
			if err := run(context.Background(), opts); err != nil {
				t.Fatalf("%v\n%s\n%s", err, out, errOut)
			}
			if !strings.Contains(out.String(), "Epoch(train) [1][1/1]  base_lr: ") {
				t.Errorf("no mmengine iteration log line:\n%s", out)
			}
			got := loadSD(t, filepath.Join(wd, "iter_1.pth"))
			wantFile := "train/tiny_step1_" + variant + ".pth"
			if extra[variant] != nil {
				wantFile = "train/" + variant + ".pth"
			}
			want := loadSD(t, fixtures.Testdata(t, wantFile))
			before := loadSD(t, init)
			if strings.Join(got.Keys, ",") != strings.Join(want.Keys, ",") {
				t.Fatalf("keys differ:\n%v\n%v", got.Keys, want.Keys)
			}
			var worst float64
			for _, k := range want.Keys {
				g, w, b := got.Tensors[k], want.Tensors[k], before.Tensors[k]
				for i := range w.I64 {
					if g.I64[i] != w.I64[i] {
						t.Errorf("%s = %d, want %d", k, g.I64[i], w.I64[i])
					}
				}
				for i := range w.F32 {
					// the update p1 − p0 (or the stat) to float32 gradient tolerance
					d := math.Abs(float64(g.F32[i]) - float64(w.F32[i]))
					ref := math.Abs(float64(w.F32[i]) - float64(b.F32[i]))
					if d > 2e-6+2e-3*ref+1e-6*math.Abs(float64(w.F32[i])) {
						t.Fatalf("%s[%d] = %v, want %v (before %v)", k, i, g.F32[i], w.F32[i], b.F32[i])
					}
					worst = math.Max(worst, d)
				}
			}
			t.Logf("%d tensors, max |diff| %.3g", len(want.Keys), worst)
		})
	}
}

const toyConfig = `
model = dict(type='ImageClassifier',
    backbone=dict(type='MobileOne', arch=dict(num_blocks=[1, 1, 1, 1], width_factor=[0.125, 0.125, 0.125, 0.25],
        num_conv_branches=[2, 2, 2, 2], num_se_blocks=[0, 0, 0, 1]), out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=3, in_channels=128,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), topk=(1, 5)))
data_preprocessor = dict(num_classes=3, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
bgr_mean = data_preprocessor['mean'][::-1]
pipe = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', scale=16, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=7,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, num_workers=2, dataset=dict(type='CustomDataset', data_root='ROOT', data_prefix='train', pipeline=pipe),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(batch_size=5, num_workers=1, dataset=dict(type='CustomDataset', data_root='ROOT', data_prefix='val',
    pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]), sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
val_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4), paramwise_cfg=dict(norm_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-6, by_epoch=True, begin=1, end=3)]
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook', interval=2))
randomness = dict(seed=5, deterministic=False)
custom_hooks = [dict(type='EMAHook', momentum=0.1, priority='ABOVE_NORMAL', update_buffers=True)]
`

// TestKillAndResumeFromCLI: a run stopped in the middle of an epoch (as a
// kill would: after the epoch-1 checkpoint, mid epoch 2) and continued with
// --resume ends with exactly the weights, EMA and optimizer state of an
// uninterrupted run; every checkpoint left behind loads.
func TestKillAndResumeFromCLI(t *testing.T) {
	root, cfg := writeToy(t)
	runCLI := func(wd, resume string, stop int) error {
		ios, _, out, errOut := cmdutil.Test()
		err := run(context.Background(), &Options{IO: ios, Config: cfg, WorkDir: wd, Resume: resume, stopAfterIters: stop})
		if err != nil && !errors.Is(err, trainlib.ErrStopped) {
			t.Logf("%s\n%s", out, errOut)
		}
		return err
	}
	full := filepath.Join(root, "full")
	if err := runCLI(full, "", 0); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(root, "part")
	// 18 samples / batch 4 = 5 iterations per epoch: stop at iteration 7.
	if err := runCLI(part, "", 7); !errors.Is(err, trainlib.ErrStopped) {
		t.Fatalf("stopped run: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(part, "*.pth"))
	if len(matches) != 1 || filepath.Base(matches[0]) != "epoch_1.pth" {
		t.Fatalf("checkpoints after the kill: %v", matches)
	}
	for _, m := range matches {
		if _, err := checkpoint.Load(m); err != nil {
			t.Fatalf("checkpoint %s is corrupt: %v", m, err)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(part, ".*tmp*")); len(tmp) > 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
	if err := runCLI(part, "auto", 0); err != nil {
		t.Fatal(err)
	}
	sameFinalWeights(t, filepath.Join(full, "epoch_3.pth"), filepath.Join(part, "epoch_3.pth"))
}

// writeToy writes the toy data set and toyConfig over it into a temporary
// directory: its root and the config file.
func writeToy(t *testing.T) (root, cfg string) {
	t.Helper()
	root = t.TempDir()
	toydata.Write(t, filepath.Join(root, "data"))
	cfg = filepath.Join(root, "toy.py")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(toyConfig, "ROOT", filepath.Join(root, "data"))), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, cfg
}

// sameFinalWeights checks that the resumed run's checkpoint holds bit for
// bit the weights and EMA weights of the uninterrupted run's.
func sameFinalWeights(t *testing.T, fullPath, resumedPath string) {
	t.Helper()
	a, err := checkpoint.Load(fullPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := checkpoint.Load(resumedPath)
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := a.StateDict()
	sb, _ := b.StateDict()
	ea, _ := a.EMAStateDict()
	eb, _ := b.EMAStateDict()
	for _, pair := range [][2]*checkpoint.StateDict{{sa, sb}, {ea, eb}} {
		for _, k := range pair[0].Keys {
			x, y := pair[0].Tensors[k], pair[1].Tensors[k]
			if y == nil {
				t.Fatalf("%s missing after resume", k)
			}
			for i := range x.F32 {
				if x.F32[i] != y.F32[i] {
					t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", k, i, x.F32[i], y.F32[i])
				}
			}
			for i := range x.I64 {
				if x.I64[i] != y.I64[i] {
					t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", k, i, x.I64[i], y.I64[i])
				}
			}
		}
	}
}

// TestInterrupt: cancelling the context (Ctrl-C) stops the run after the
// current iteration with the cancel exit code; the checkpoints written so
// far load, no temporary file is left, and --resume continues from them.
func TestInterrupt(t *testing.T) {
	root, cfg := writeToy(t)
	wd := filepath.Join(root, "wd")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(filepath.Join(wd, "epoch_2.pth")); err == nil {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	ios, _, _, errOut := cmdutil.Test()
	err := run(ctx, &Options{IO: ios, Config: cfg, WorkDir: wd, CfgOptions: []string{"train_cfg.max_epochs=400"}})
	if !errors.Is(err, cmdutil.ErrCancel) || cmdutil.ExitCode(err) != cmdutil.ExitCancel {
		t.Fatalf("err = %v (exit %d)", err, cmdutil.ExitCode(err))
	}
	if !strings.Contains(errOut.String(), "--resume") {
		t.Errorf("no hint to resume: %s", errOut)
	}
	ckpts, _ := filepath.Glob(filepath.Join(wd, "*.pth"))
	if len(ckpts) < 2 {
		t.Fatalf("checkpoints: %v", ckpts)
	}
	for _, c := range ckpts {
		if _, err := checkpoint.Load(c); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(wd, ".*tmp*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	ios, _, _, _ = cmdutil.Test()
	err = run(context.Background(), &Options{IO: ios, Config: cfg, WorkDir: wd, Resume: "auto", CfgOptions: []string{"train_cfg.max_epochs=" + fmt.Sprint(len(ckpts)+1)}})
	if err != nil {
		t.Fatal(err)
	}
}
