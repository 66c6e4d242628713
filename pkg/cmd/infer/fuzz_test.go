package infer

import (
	"context"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// FuzzArgs: infer's argument parser (flags, IMAGE... [MODEL]) never
// panics, and what it accepts is consistent: at least one image, a config,
// positive --topk and --batch-size, --strict only with --skip-invalid, an
// --out of a known format, and a trailing MODEL taken only when it names
// a config.
func FuzzArgs(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping fuzz target in -short mode")
	}
	for _, s := range []string{
		"a.jpg", "a.jpg b.jpg", "a.jpg mobileone-s0_8xb32_in1k", "a.jpg cfg.yaml --checkpoint c.pth",
		"dir/ --out r.csv --show-dir v", "'*.jpg' --skip-invalid --strict", "a.jpg --strict", "a.jpg --topk 0",
		"a.jpg --batch-size -1", "a.jpg --out r.txt", "https://x/y.jpg c.py --config d.py", "--json -k 3 a.png",
		"a.jpg --workers -1", "a.jpg --cfg-options a=1 --cfg-options b=", "-- -a.jpg",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 1<<10 {
			return
		}
		args := strings.Fields(line)
		ios, _, _, _ := cmdutil.Test()
		var got *Options
		cmd := NewCmdInfer(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(args)
		cmd.SetOut(ios.ErrOut)
		cmd.SetErr(ios.ErrOut)
		if err := cmd.Execute(); err != nil || got == nil {
			return
		}
		switch {
		case len(got.Images) == 0:
			t.Fatalf("%q: no images", args)
		case got.Config == "":
			t.Fatalf("%q: no config", args)
		case got.TopK < 1 || got.BatchSize < 1 || got.Workers < 0:
			t.Fatalf("%q: topk %d, batch %d, workers %d", args, got.TopK, got.BatchSize, got.Workers)
		case got.Strict && !got.SkipInvalid:
			t.Fatalf("%q: --strict without --skip-invalid", args)
		case got.Out != "" && outFormat(got.Out) == "":
			t.Fatalf("%q: --out %q", args, got.Out)
		}
		if got.Config != DefaultConfig && !cmd.Flags().Changed("config") && !IsModelArg(got.Config) {
			t.Fatalf("%q: MODEL %q taken from the arguments is not a config", args, got.Config)
		}
	})
}
