package setup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/toydata"
	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/train"
)

// Every config in configs/ builds the same model for train (TrainSpec) as
// for test, infer and the other commands (Load): same model.Config, same
// state-dict keys and shapes.
func TestTrainAndTestBuildTheSameModel(t *testing.T) {
	root := t.TempDir()
	toydata.Write(t, root)
	names := config.BuiltinNames()
	if len(names) < 12 {
		t.Fatalf("only %d built-in configs: %v", len(names), names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			// The toy folder dataset stands in for each config's data.
			var opts []string
			for _, dl := range []string{"train_dataloader", "val_dataloader"} {
				opts = append(opts, dl+".dataset.data_root="+root, dl+".dataset.type=CustomDataset", dl+".dataset.split=None")
			}
			opts = append(opts, "train_dataloader.dataset.data_prefix=train", "val_dataloader.dataset.data_prefix=val")
			cfg, mc, err := Load(name, opts)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := TrainSpec(cfg, TrainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.Model, mc) {
				t.Fatalf("train builds %+v, test %+v", spec.Model, mc)
			}
			a, err := model.New(spec.Model)
			if err != nil {
				t.Fatal(err)
			}
			b, err := model.New(mc)
			if err != nil {
				t.Fatal(err)
			}
			ea, eb := a.StateDict(), b.StateDict()
			if len(ea) != len(eb) {
				t.Fatalf("%d vs %d state-dict entries", len(ea), len(eb))
			}
			for i := range ea {
				if ea[i].Key != eb[i].Key || ea[i].Tensor != nil && !reflect.DeepEqual(ea[i].Tensor.Shape, eb[i].Tensor.Shape) {
					t.Fatalf("entry %d: %s vs %s", i, ea[i].Key, eb[i].Key)
				}
			}
			if spec.Train.BatchSize <= 0 || len(spec.Hooks) == 0 || spec.Loop.ByEpoch && spec.Loop.MaxEpochs <= 0 {
				t.Errorf("spec %+v", spec)
			}
		})
	}
}

// stepConfig is testdata/train/tiny_step.py with a Python statement
// appended (opt: "key = value" at the top level, or "--cfg-options" item
// "a.b=v").
func stepConfig(t testing.TB, opt string) *config.Config {
	t.Helper()
	src, err := os.ReadFile(fixtures.Testdata(t, "train/tiny_step.py"))
	if err != nil {
		t.Fatal(err)
	}
	var opts []string
	if strings.Contains(opt, " = ") {
		src = append(src, "\n"+opt+"\n"...)
	} else if opt != "" {
		opts = append(opts, opt)
	}
	cfg, err := config.LoadBytes(filepath.Join(t.TempDir(), "tiny_step.py"), src)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, "train_dataloader.dataset.data_root="+fixtures.Testdata(t, "train/step_data"))
	if err := cfg.MergeOptions(opts); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Bad values are errors naming the key and the file before any work; keys
// and types mmpretrain has that are not implemented say "not supported".
func TestTrainSpecErrors(t *testing.T) {
	for _, c := range []struct{ opt, want string }{
		{"train_dataloader.batch_size=0", "train_dataloader.batch_size: must be a positive integer, got 0"},
		{"train_dataloader.batch_size=-4", "train_dataloader.batch_size: must be a positive integer, got -4"},
		{"train_dataloader.batch_size='eight'", "train_dataloader.batch_size: want an integer"},
		{"train_dataloader.batch_size=2.5", "train_dataloader.batch_size"},
		{"train_dataloader.num_workers=-1", "num_workers"},
		{"train_dataloader.sampler.type=InfiniteSampler", "not supported: train_dataloader.sampler.type"},
		{"train_dataloader.dataset.indices=3", "not supported: train_dataloader.dataset.indices"},
		{"train_dataloader.dataset.typo=3", "typo"},
		{"optim_wrapper.optimizer.type=LAMB", "not supported: optim_wrapper.optimizer.type: \"LAMB\""},
		{"optim_wrapper.type=AmpOptimWrapper", "not supported: optim_wrapper.type"},
		{"optim_wrapper.clip_grad.max_norm=1", "not supported: optim_wrapper.clip_grad"},
		{"optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult=0.1", "not supported: optim_wrapper.paramwise_cfg.custom_keys"},
		{"optim_wrapper.optimizer.lr='x'", "optim_wrapper.optimizer.lr"},
		{"param_scheduler = [dict(type='CosineRestartLR', periods=[1], restart_weights=[1])]", "not supported: param_scheduler.0.type: \"CosineRestartLR\""},
		{"param_scheduler = [dict(type='LinearLR', total_iters=3)]", "total_iters"},
		{"param_scheduler = [dict(type='LinearLR', begin=5, end=2)]", "end should be larger than begin"},
		{"param_scheduler = [dict(type='LinearLR', by_epoch=False, convert_to_iter_based=True)]", "convert_to_iter_based needs by_epoch=True"},
		{"param_scheduler = [dict(type='CosineAnnealingParamScheduler', param_name='betas')]", "param_name"},
		{"default_hooks.checkpoint.save_best='auto'", "not supported: default_hooks.checkpoint.save_best"},
		{"default_hooks.checkpoint.max_keep_ckpts=0", "max_keep_ckpts"},
		{"default_hooks.logger.interval=0", "default_hooks.logger.interval"},
		{"custom_hooks = [dict(type='EarlyStoppingHook', monitor='accuracy/top1')]", "not supported: custom_hooks.0.type: \"EarlyStoppingHook\""},
		{"custom_hooks = [dict(type='EMAHook', momentum=2)]", "custom_hooks.0.momentum"},
		{"custom_hooks = [dict(type='EMAHook', priority='SOON')]", "custom_hooks.0.priority"},
		{"custom_hooks = [dict(type='EMAHook', ema_type='StochasticWeightAverage')]", "not supported: custom_hooks.0.ema_type"},
		{"model.head.loss.type=FocalLoss", "not supported: model.head.loss.type: \"FocalLoss\""},
		{"model.head.loss.use_sigmoid=True", "not supported: model.head.loss.use_sigmoid"},
		{"model.backbone.frozen_stages=5", "frozen_stages=5 must be in [-1, 4]"},
		{"optim_wrapper['optimizer'] = dict(type='AdamW', lr=1e-3, amsgrad=True)", "not supported: optim_wrapper.optimizer.amsgrad"},
		{"optim_wrapper['optimizer'] = dict(type='Adam', lr=1e-3, betas=(0.9, 1.5))", "optim_wrapper.optimizer"},
		{"model.backbone.init_cfg.type=Kaiming", "not supported: model.backbone.init_cfg.type"},
		{"model['train_cfg'] = dict(augments=[dict(type='Mixup', alpha=0.8)])", "not supported: model.train_cfg"},
		{"data_preprocessor['batch_augments'] = dict(augments=[dict(type='Mixup', alpha=0.8)])", "not supported: data_preprocessor.batch_augments"},
		{"train_cfg.max_iters=0", "train_cfg.max_iters"},
		{"train_cfg.type=FlexibleRunnerLoop", "not supported: train_cfg.type"},
		{"launcher=pytorch", "not supported: launcher"},
		{"val_cfg = dict()", "val_dataloader, val_cfg, and val_evaluator"},
		{"randomness.seed='x'", "randomness.seed"},
		{"val_dataloader = train_dataloader\nval_cfg = dict()\nval_evaluator = dict(type='Accuracy', topk=(1, 5))\nmodel['head']['num_classes'] = 3",
			"val_evaluator: evaluate: accuracy: Top-5 accuracy is unavailable since the number of categories is 3"},
	} {
		cfg := stepConfig(t, c.opt)
		_, err := TrainSpec(cfg, TrainOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "tiny_step.py") {
			t.Errorf("%s:\n  err  %v\n  want %q and the file name", c.opt, err, c.want)
		}
		var ue *UnsupportedError
		if strings.Contains(c.want, "not supported") != errors.As(err, &ue) {
			t.Errorf("%s: error %T, UnsupportedError: %v", c.opt, err, errors.As(err, &ue))
		}
	}
}

// An explicit loss_weight reaches the loss, 0 included (it was once read
// as unset, that is 1).
func TestTrainSpecLossWeight(t *testing.T) {
	for _, v := range []float64{0, 2.5} {
		s, err := TrainSpec(stepConfig(t, fmt.Sprintf("model.head.loss.loss_weight=%g", v)), TrainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if l, ok := s.Loss.(train.LabelSmoothLoss); !ok || l.LossWeight == nil || *l.LossWeight != v {
			t.Errorf("loss_weight=%g: loss %#v", v, s.Loss)
		}
	}
}

// The spec of tiny_step.py: the objects its config names.
func TestTrainSpecObjects(t *testing.T) {
	cfg := stepConfig(t, "param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=2, convert_to_iter_based=True), "+
		"dict(type='MultiStepLR', milestones=[1, 2], gamma=0.5), dict(type='CosineAnnealingMomentum', eta_min=0.5, by_epoch=False)]\n"+
		"custom_hooks = [dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL')]\ntrain_cfg = dict(by_epoch=True, max_epochs=4)")
	s, err := TrainSpec(cfg, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Train.BatchSize != 8 || s.Train.Shuffle || s.Val != nil || len(s.Train.Dataset.Samples) != 8 || s.LoadFrom != "testdata/checkpoint/tiny_train.pth" {
		t.Errorf("data/load_from: %+v", s)
	}
	if l, ok := s.Loss.(train.LabelSmoothLoss); !ok || l.LabelSmoothVal != 0.1 || l.Mode != "original" || l.LossWeight != nil {
		t.Errorf("loss %#v", s.Loss)
	}
	if o := s.Optimizer; o.LR != 0.1 || o.Momentum != 0.9 || o.WeightDecay != 1e-4 || o.NormDecayMult == nil || *o.NormDecayMult != 0 {
		t.Errorf("optimizer %+v", o)
	}
	// 8 samples / batch 8 = 1 iteration per epoch; the MultiStepLR's end
	// defaults to max_epochs, the momentum's to max_epochs·epoch length.
	var got []string
	for _, sc := range s.Schedulers {
		got = append(got, fmt.Sprintf("%s %s [%d,%d) by_epoch=%v", sc.Rule.Type(), sc.ParamName, sc.Begin, sc.End, sc.ByEpoch))
	}
	want := []string{"LinearParamScheduler lr [0,2) by_epoch=false", "MultiStepParamScheduler lr [0,4) by_epoch=true", "CosineAnnealingParamScheduler momentum [0,4) by_epoch=false"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schedulers\n got %q\nwant %q", got, want)
	}
	// default hooks in mmengine's order, then the custom one.
	var hooks []string
	for _, h := range s.Hooks {
		hooks = append(hooks, fmt.Sprintf("%s:%d", h.Name(), h.Priority()))
	}
	wantHooks := []string{"IterTimerHook:50", "DistSamplerSeedHook:50", "LoggerHook:60", "ParamSchedulerHook:70", "CheckpointHook:90", "EMAHook:40"}
	if !reflect.DeepEqual(hooks, wantHooks) {
		t.Errorf("hooks\n got %v\nwant %v", hooks, wantHooks)
	}
	if _, err := os.Stat(filepath.Join(fixtures.Testdata(t, "train/step_data"), "train")); err != nil {
		t.Fatal(err)
	}
}
