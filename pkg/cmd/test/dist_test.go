package test

import (
	"bytes"
	"context"
	"os"

	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/proctest"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/dist"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// slowDecode slows every image down (a rank to be killed mid-run).
const slowDecode = "MOBILEONE_TEST_SLOW_DECODE"

func TestMain(m *testing.M) {
	proctest.RunIfChild(func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdTest(f, func(ctx context.Context, o *Options) error {
			if d, err := time.ParseDuration(os.Getenv(slowDecode)); err == nil {
				o.decode = func(p string) (*imagenet.Image, error) {
					time.Sleep(d)
					return imagenet.DecodeFile(p)
				}
			}
			return run(ctx, o)
		})
	})
	os.Exit(m.Run())
}

func launch(t *testing.T, env []string, args ...string) *proctest.Proc {
	t.Helper()
	return proctest.Launch(t, fixtures.Root(t), env, args...) // configs name data relative to the repository
}

// metricsOf is the printed line without the iteration count and the
// timings, which differ between a rank and a single process (upstream's
// too).
var timings = regexp.MustCompile(`^Epoch\(test\) \[\d+/\d+\]\s+|\s*data_time: [\d.]+\s+time: [\d.]+`)

func metricsOf(stdout string) string { return timings.ReplaceAllString(strings.TrimSpace(stdout), "") }

type distCase struct {
	name string
	args []string // config, checkpoint and flags
}

func distCases(t *testing.T) []distCase {
	fmnist := []string{fixtures.Testdata(t, "test/tiny_ann.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth"), "--batch-size", "4"}
	cases := []distCase{{"fmnist-20", fmnist},
		// shuffled by torch.randperm: --out in sampler order
		{"fmnist-20-shuffled", slices.Concat(fmnist, []string{"--cfg-options", "test_dataloader.sampler.shuffle=True", "--cfg-options", "randomness.seed=3"})}}
	if root, ok := fixtures.SharedDir(t); ok && !testing.Short() {
		cases = append(cases, distCase{"imagenet-30", []string{"mobileone-s0_deploy_8xb32_in1k", filepath.Join(root, "checkpoints/s0_deploy.pth"),
			"--data-root", filepath.Join(root, "imagenet"), "--batch-size", "4"}})
	}
	return cases
}

// Three ranks launched as torchrun (and as srun) launches them print the
// metrics one process prints, on rank 0 only, and rank 0 writes the
// same --out, byte for byte; the shared folder is gone afterwards.
func TestDistributedEqualsSingle(t *testing.T) {
	for _, c := range distCases(t) {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			single := launch(t, nil, slices.Concat(c.args, []string{"--work-dir", filepath.Join(dir, "single"), "--out", filepath.Join(dir, "single.pkl")})...)
			if code := single.Wait(t, 5*time.Minute); code != 0 {
				t.Fatalf("single process: exit %d\n%s", code, single.Stderr.String())
			}
			want := metricsOf(single.Stdout.String())
			if !strings.Contains(want, "accuracy/top1: ") {
				t.Fatalf("single process printed %q", single.Stdout.String())
			}
			wantOut, err := os.ReadFile(filepath.Join(dir, "single.pkl"))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []struct {
				name, launcher string
				env            func(rank, world int) []string
			}{{"torchrun", "pytorch", proctest.TorchrunEnv}, {"srun", "slurm", proctest.SlurmEnv}} {
				work, out := filepath.Join(dir, l.name), filepath.Join(dir, l.name+".pkl")
				var ranks []*proctest.Proc
				for r := range 3 {
					ranks = append(ranks, launch(t, l.env(r, 3), slices.Concat(c.args,
						[]string{"--launcher", l.launcher, "--work-dir", work, "--out", out, "--dist-timeout", "2m"})...))
				}
				for r, p := range ranks {
					if code := p.Wait(t, 5*time.Minute); code != 0 {
						t.Fatalf("%s rank %d: exit %d\n%s", l.name, r, code, p.Stderr.String())
					}
					if r > 0 && p.Stdout.Len() > 0 {
						t.Errorf("%s rank %d printed %q: only rank 0 prints", l.name, r, p.Stdout.String())
					}
				}
				if got := metricsOf(ranks[0].Stdout.String()); got != want {
					t.Errorf("%s: rank 0 printed %q, one process %q", l.name, got, want)
				}
				gotOut, err := os.ReadFile(out)
				if err != nil || !bytes.Equal(gotOut, wantOut) {
					t.Errorf("%s: --out differs from one process's (%v)", l.name, err)
				}
				if _, err := os.Stat(filepath.Join(work, ".dist_test")); !os.IsNotExist(err) {
					t.Errorf("%s: the shared folder is left: %v", l.name, err)
				}
			}
		})
	}
}

// A rank killed mid-run makes the others exit non-zero within the timeout,
// naming it, and no --out is written.
func TestDistributedRankKilled(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.pkl")
	const timeout = 3 * time.Second
	args := []string{fixtures.Testdata(t, "test/tiny_ann.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth"), "--batch-size", "2",
		"--workers", "1", "--launcher", "pytorch", "--work-dir", filepath.Join(dir, "work"), "--out", out, "--dist-timeout", timeout.String()}
	var ranks []*proctest.Proc
	for r := range 3 {
		// 7 images of 500 ms each: a rank runs for 3.5 s at least.
		ranks = append(ranks, launch(t, append(proctest.TorchrunEnv(r, 3), slowDecode+"=500ms"), args...))
	}
	time.Sleep(1500 * time.Millisecond)
	if err := ranks[1].Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for _, r := range []int{0, 2} {
		code := ranks[r].Wait(t, 2*time.Minute)
		if code == 0 {
			t.Errorf("rank %d exited 0 after rank 1 was killed\n%s", r, ranks[r].Stderr.String())
		}
		t.Logf("rank %d: exit %d after %s: %s", r, code, time.Since(killed).Round(100*time.Millisecond), lastLine(ranks[r].Stderr.String()))
	}
	ranks[1].Wait(t, time.Minute)
	// rank 0 finishes its 7 images (3.5 s), then notices within the timeout
	if d := time.Since(killed); d > 3500*time.Millisecond+timeout+20*time.Second {
		t.Errorf("the ranks stopped %s after the kill", d)
	}
	if !strings.Contains(ranks[0].Stderr.String(), "rank 1") {
		t.Errorf("rank 0 does not name rank 1:\n%s", ranks[0].Stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out exists after a failed run: %v", err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// With test_dataloader.sampler shuffled, --out lists the samples in the
// order of torch.randperm from the seed, as upstream's --out does.
func TestShuffledSamplerOrder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "preds.pkl")
	cfgOpts := []string{"test_dataloader.sampler.shuffle=True", "test_dataloader.sampler.seed=11"}
	if _, stderr, err := runTest(t, &Options{Config: fixtures.Testdata(t, "test/tiny_ann.py"), Checkpoint: fixtures.Testdata(t, "checkpoint/tiny_train.pth"),
		CfgOptions: cfgOpts, BatchSize: 4, Out: out, DataRoot: fixtures.Testdata(t, "test/fmnist")}); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	preds := loadPickle(t, out)
	want := dist.RandPerm(20, 11)
	for i, p := range preds {
		if p.SampleIdx != want[i] {
			t.Fatalf("--out sample %d is %d; torch.randperm(20) from seed 11 gives %v", i, p.SampleIdx, want)
		}
	}
	if len(preds) != 20 {
		t.Fatalf("%d predictions", len(preds))
	}
}
