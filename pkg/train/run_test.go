package train_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/toydata"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/setup"
	. "github.com/mobileone-go/mobileone/pkg/train"
)

const toyConfig = `
model = dict(type='ImageClassifier',
    backbone=dict(type='MobileOne', arch=dict(num_blocks=[1, 1, 1, 1], width_factor=[0.125, 0.125, 0.125, 0.25],
        num_conv_branches=[2, 2, 2, 2], num_se_blocks=[0, 0, 0, 1]), out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=3, in_channels=128,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), topk=(1, 5)))
data_preprocessor = dict(num_classes=3, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
pipe = [dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', scale=16, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'), dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, num_workers=2, dataset=dict(type='CustomDataset', data_root='ROOT', data_prefix='train', pipeline=pipe),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(batch_size=5, num_workers=1, dataset=dict(type='CustomDataset', data_root='ROOT', data_prefix='val',
    pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]), sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
val_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4), paramwise_cfg=dict(norm_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-6, by_epoch=True, begin=1, end=3),
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay', eta_min=1e-5, by_epoch=True, begin=0, end=3)]
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook', interval=2))
randomness = dict(seed=5, deterministic=False)
custom_hooks = [dict(type='SwitchRecipeHook', schedule=[dict(action_epoch=2, pipeline=pipe)]),
    dict(type='EMAHook', momentum=0.1, priority='ABOVE_NORMAL', update_buffers=True)]
`

// toySpec is toyConfig's spec over the toy data set in root, with opts
// merged (--cfg-options).
func toySpec(t *testing.T, root string, opts ...string) *Spec {
	t.Helper()
	cfg, err := config.LoadBytes("toy.py", []byte(strings.ReplaceAll(toyConfig, "ROOT", root)))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.MergeOptions(opts); err != nil {
		t.Fatal(err)
	}
	spec, err := setup.TrainSpec(cfg, setup.TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func toyRun(t *testing.T, root, workDir, resume string, stop int, opts ...string) (*Result, error) {
	t.Helper()
	spec := toySpec(t, root, opts...)
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	return Run(context.Background(), spec, Options{WorkDir: workDir, Resume: resume, StopAfterIters: stop, Now: now}, os.Stdout, os.Stderr)
}

func finalState(t *testing.T, path string) *checkpoint.StateDict {
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

// TestRunResumeSameWeights: a run killed mid-epoch and resumed from its last
// checkpoint ends with the same weights (bit for bit) as an uninterrupted run.
func TestRunResumeSameWeights(t *testing.T) {
	root := t.TempDir()
	toydata.Write(t, root)
	full, err := toyRun(t, root, filepath.Join(root, "full"), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if full.Epoch != 3 || full.Metrics == nil {
		t.Fatalf("full run: %+v", full)
	}
	for _, f := range []string{"epoch_1.pth", "epoch_3.pth", "last_checkpoint", "training_curves.png"} {
		if _, err := os.Stat(filepath.Join(root, "full", f)); err != nil {
			t.Error(err)
		}
	}
	part := filepath.Join(root, "part")
	// 18 samples / batch 4 = 5 iterations per epoch: stop in epoch 2.
	if _, err := toyRun(t, root, part, "", 7); !errors.Is(err, ErrStopped) {
		t.Fatalf("interrupted run: %v", err)
	}
	res, err := toyRun(t, root, part, "auto", 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Epoch != 3 {
		t.Fatalf("resumed run ended at epoch %d", res.Epoch)
	}
	a, b := finalState(t, filepath.Join(root, "full", "epoch_3.pth")), finalState(t, filepath.Join(part, "epoch_3.pth"))
	for _, k := range a.Keys {
		ta, tb := a.Tensors[k], b.Tensors[k]
		for i := range ta.F32 {
			if ta.F32[i] != tb.F32[i] {
				t.Fatalf("%s[%d]: %v uninterrupted, %v resumed", k, i, ta.F32[i], tb.F32[i])
			}
		}
		for i := range ta.I64 {
			if ta.I64[i] != tb.I64[i] {
				t.Fatalf("%s: %v vs %v", k, ta.I64, tb.I64)
			}
		}
	}
}

// TestMaxKeepCkptsAcrossResume: max_keep_ckpts counts the checkpoints
// already in the work dir, so a resumed run does not leave more (issue 15).
func TestMaxKeepCkptsAcrossResume(t *testing.T) {
	root := t.TempDir()
	toydata.Write(t, root)
	wd := filepath.Join(root, "wd")
	keep := []string{"default_hooks.checkpoint.max_keep_ckpts=1", "train_cfg.max_epochs=4", "custom_hooks=[]", "param_scheduler=[]"}
	// 5 iterations per epoch: stop in epoch 3 after epoch_1 and epoch_2.
	if _, err := toyRun(t, root, wd, "", 12, keep...); !errors.Is(err, ErrStopped) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := toyRun(t, root, wd, "auto", 0, keep...); err != nil {
		t.Fatal(err)
	}
	got, _ := filepath.Glob(filepath.Join(wd, "epoch_*.pth"))
	if len(got) != 1 || filepath.Base(got[0]) != "epoch_4.pth" {
		t.Errorf("checkpoints left: %v, want [epoch_4.pth]", got)
	}
}

// cancelAtEpochEnd is Ctrl-C arriving as an epoch ends, after the
// iterations and before the CheckpointHook (priority VERY_LOW) saves.
type cancelAtEpochEnd struct {
	BaseHook
	cancel func()
}

func (cancelAtEpochEnd) Name() string                    { return "cancelAtEpochEnd" }
func (h cancelAtEpochEnd) AfterTrainEpoch(*Runner) error { h.cancel(); return nil }

// TestInterruptStopsCheckpointWrite: Ctrl-C while the CheckpointHook saves
// stops the write: the run ends with the context's error, no epoch_1.pth,
// no last_checkpoint naming it and no temporary file in the work dir.
func TestInterruptStopsCheckpointWrite(t *testing.T) {
	root := t.TempDir()
	toydata.Write(t, root)
	spec := toySpec(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spec.Hooks = append(spec.Hooks, cancelAtEpochEnd{cancel: cancel})
	wd := filepath.Join(root, "wd")
	res, err := Run(ctx, spec, Options{WorkDir: wd}, io.Discard, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.LastCheckpoint != "" {
		t.Errorf("LastCheckpoint = %q after an interrupted first save", res.LastCheckpoint)
	}
	ents, err := os.ReadDir(wd)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			t.Errorf("%s left in the work dir", e.Name())
		}
	}
}
