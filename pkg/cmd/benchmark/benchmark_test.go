package benchmark

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/kernels"
)

func TestBenchmarkReport(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	opts := &Options{IO: ios, Config: fixtures.Testdata(t, "demo/mobileone-tiny_demo_deploy.py"), BatchSize: 2, H: 64, W: 48,
		Iters: 3, Warmup: 1, Threads: 1, JSON: true, Verbose: true}
	if err := run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.TimesMS) != 3 || rep.MinMS > rep.MedianMS || rep.MedianMS > rep.MaxMS || rep.MinMS <= 0 {
		t.Errorf("times %v: min %g median %g max %g", rep.TimesMS, rep.MinMS, rep.MedianMS, rep.MaxMS)
	}
	if got := rep.ImagesPerS; got < 0.99*2000/rep.MedianMS || got > 1.01*2000/rep.MedianMS {
		t.Errorf("images/s %g does not follow from batch 2 and %g ms", got, rep.MedianMS)
	}
	if !rep.Deploy || rep.Threads != 1 || rep.Shape != [2]int{64, 48} || len(rep.Stages) != 6 || rep.Stages[0].Name != "backbone.stage0" {
		t.Errorf("report %+v", rep)
	}
	// the tiny demo model's 8-channel stem is not blocked
	if rep.Kernels != kernels.FastPath() || rep.Layout != "nchw" {
		t.Errorf("kernels %q layout %q, want %q nchw", rep.Kernels, rep.Layout, kernels.FastPath())
	}
}

// TestBenchmarkLayout: s0's deploy graph runs blocked wherever the blocked
// kernels are assembly, and the text report says so.
func TestBenchmarkLayout(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	opts := &Options{IO: ios, Config: "mobileone-s0_deploy_8xb32_in1k", BatchSize: 1, H: 32, W: 32, Iters: 1, Threads: 1}
	if err := run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := kernels.FastPath() + " kernels, NCHW activations"
	if kernels.BlockedFast() {
		want = kernels.FastPath() + " kernels, blocked NCHWc activations"
	}
	if first, _, _ := strings.Cut(out.String(), "\n"); !strings.HasSuffix(first, want) {
		t.Errorf("first line %q, want it to end in %q", first, want)
	}
}

func TestBenchmarkFlags(t *testing.T) {
	for _, args := range [][]string{{"c.py", "--iters", "0"}, {"c.py", "--shape", "1,2,3"}, {"c.py", "--batch-size", "0"}} {
		ios, _, _, _ := cmdutil.Test()
		cmd := NewCmdBenchmark(&cmdutil.Factory{IO: ios}, func(context.Context, *Options) error { return nil })
		cmd.SetArgs(args)
		cmd.SetOut(ios.ErrOut)
		cmd.SetErr(ios.ErrOut)
		if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v", args, err)
		}
	}
}
