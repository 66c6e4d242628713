package test

import (
	"context"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/cmdtest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// FuzzCfgOptions: any --cfg-options items given to test, through the
// command's flag parsing and every config step test takes before it reads
// data (the model, the test pipeline, the normalizer, the evaluator, the
// dataset listing, the batch size), give an error or a usable value, never
// a panic or a hang.
func FuzzCfgOptions(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping fuzz target in -short mode")
	}
	cfgPath := fixtures.Testdata(f, "test/tiny_ann.py")
	dataRoot := fixtures.Testdata(f, "test/fmnist")
	for _, s := range []string{
		"test_dataloader.batch_size=0", "test_dataloader.batch_size=-4", "test_dataloader.batch_size=abc",
		"model.head.num_classes=0", "model.backbone.arch=s9", "model.backbone.arch={'num_blocks':[1]}",
		"test_dataloader.dataset.pipeline=[]", "test_dataloader.dataset.pipeline=[dict(type='Nope')]",
		"test_dataloader.dataset.pipeline.1.scale=-1", "data_preprocessor.mean=[1,2]", "data_preprocessor.std=[0,0,0]",
		"test_evaluator=dict(type='Accuracy', topk=(0,))", "test_evaluator.topk=[1,1000000]",
		"test_dataloader.dataset.split=train", "test_dataloader.dataset.ann_file=/dev/zero",
		"a.b.c=[1,2", "=1", "x", "model=None", "test_dataloader=None",
	} {
		f.Add(s, "work_dir=w")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a)+len(b) > 1<<10 {
			return
		}
		var opts *Options
		if err := cmdtest.Execute(NewCmdTest(cmdtest.Factory(), func(_ context.Context, o *Options) error { opts = o; return nil }), []string{cfgPath, "ck.pth", "--data-root", dataRoot, "--cfg-options", a, "--cfg-options", b}...); err != nil {
			return
		}
		if strings.Join(opts.CfgOptions, "\x00") != a+"\x00"+b {
			t.Fatalf("cfg options %q, want %q and %q", opts.CfgOptions, a, b)
		}
		cfg, _, err := setup.Load(opts.Config, opts.CfgOptions)
		if err != nil {
			return
		}
		_, _ = setup.Normalizer(cfg)
		_, _ = setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil)
		_, _ = evaluate.FromConfig(cfg, "test_evaluator")
		if ds, err := setup.Dataset(cfg, "test_dataloader.dataset", opts.DataRoot); err == nil && len(ds.Samples) == 0 {
			t.Fatal("a dataset without samples was accepted")
		}
		var batch int
		_ = cfg.Decode("test_dataloader.batch_size", &batch)
	})
}
