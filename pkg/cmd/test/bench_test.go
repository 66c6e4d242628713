package test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// BenchmarkEndToEnd runs `mobileone test` (decode, ResizeEdge 256,
// CenterCrop 224, normalize, s0 deploy forward, softmax, accuracy) on the
// 30 fixture JPEGs listed 10 times (300 samples), batch 32, and reports
// images/s. Compare with bench/torch_test_pipeline.py (bench/README.md):
//
//	make bench-test
//	GOMAXPROCS=2 go test -run '^$' -bench BenchmarkEndToEnd -benchtime 1x ./pkg/cmd/test/
func BenchmarkEndToEnd(b *testing.B) {
	src := filepath.Join(fixtures.Shared(b, "imagenet"), "val")
	ckpt := fixtures.Shared(b, "checkpoints/s0_deploy.pth")
	files, err := filepath.Glob(filepath.Join(src, "*.JPEG"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no JPEGs in %s: %v", src, err)
	}
	root := b.TempDir()
	var ann strings.Builder
	for r := range 10 {
		for i, f := range files {
			name := fmt.Sprintf("r%d_%s", r, filepath.Base(f))
			if err := os.Symlink(f, filepath.Join(root, name)); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&ann, "%s %d\n", name, i)
		}
	}
	annFile := filepath.Join(root, "val.txt")
	if err := os.WriteFile(annFile, []byte(ann.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	n := 10 * len(files)
	for _, c := range []struct {
		name   string
		decode func(string) (*imagenet.Image, error)
	}{{"default-decoder", nil}, {"exact-decoder", exactDecode}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				ios, _, _, _ := cmdutil.Test()
				err := run(b.Context(), &Options{IO: ios, Config: "mobileone-s0_deploy_8xb32_in1k", Checkpoint: ckpt, OutItem: "pred",
					CfgOptions: []string{"test_dataloader.dataset.type=CustomDataset", "test_dataloader.dataset.split=None",
						"test_dataloader.dataset.data_prefix=" + root, "test_dataloader.dataset.ann_file=" + annFile},
					BatchSize: 32, Workers: runtime.GOMAXPROCS(0), WorkDir: b.TempDir(), decode: c.decode})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
