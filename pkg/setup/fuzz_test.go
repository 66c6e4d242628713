package setup

import (
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/config"
)

// FuzzCfgOptions feeds one --cfg-options item through the config layer of
// train (TrainSpec) and of test (ModelConfig, Normalizer, Dataset,
// Pipeline) on testdata/train/tiny_step.py: no value panics; every
// failure is an error.
func FuzzCfgOptions(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping fuzz target in -short mode")
	}
	for _, s := range []string{
		"train_dataloader.batch_size=0", "train_dataloader.batch_size=-4", "train_dataloader.batch_size='eight'",
		"train_dataloader.batch_size=1e300", "train_dataloader.num_workers=[1,2]", "model.head.num_classes=0",
		"model.backbone.arch.num_blocks=[0,0,0,0]", "model.backbone.arch=s9", "optim_wrapper.optimizer.lr=-1",
		"param_scheduler=[]", "param_scheduler.0.type=OneCycleLR", "train_cfg.max_iters=1e18", "default_hooks.logger=None",
		"default_hooks.checkpoint.interval=(1,2)", "custom_hooks=[1]", "data_preprocessor.mean=[1,2]", "model.head.loss.label_smooth_val=1",
		"train_dataloader.dataset.pipeline.1.scale=-1", "train_dataloader.sampler=None", "randomness.seed=-1", "load_from=1",
	} {
		f.Add(s)
	}
	cfgPath := fixtures.Testdata(f, "train/tiny_step.py")
	data := fixtures.Testdata(f, "train/step_data")
	f.Fuzz(func(t *testing.T, opt string) {
		if len(opt) > 512 {
			return
		}
		cfg, err := config.LoadWithOptions(cfgPath, []string{"train_dataloader.dataset.data_root=" + data, opt})
		if err != nil {
			return
		}
		_, _ = TrainSpec(cfg, TrainOptions{})
		if mc, err := ModelConfig(cfg); err == nil && mc.NumClasses < 1<<16 && mc.Arch.Validate() == nil {
			_, _ = Normalizer(cfg)
			_, _ = Dataset(cfg, "train_dataloader.dataset", "")
			_, _ = Pipeline(cfg, "train_dataloader.dataset.pipeline", nil)
		}
	})
}
