package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// asCLI makes the test binary run `mobileone test` with its arguments
// (the ranks of the distributed tests are separate processes).
const asCLI = "MOBILEONE_TEST_AS_CLI"

// slowDecode slows every image down (a rank to be killed mid-run).
const slowDecode = "MOBILEONE_TEST_SLOW_DECODE"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		f := cmdutil.NewFactory("test")
		cmd := NewCmdTest(f, func(ctx context.Context, o *Options) error {
			if d, err := time.ParseDuration(os.Getenv(slowDecode)); err == nil {
				o.decode = func(p string) (*imagenet.Image, error) {
					time.Sleep(d)
					return imagenet.DecodeFile(p)
				}
			}
			return run(ctx, o)
		})
		cmd.SetArgs(os.Args[1:])
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.Execute()
		if err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
		}
		os.Exit(cmdutil.ExitCode(err))
	}
	os.Exit(m.Run())
}

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

// launch starts `mobileone test args...` with the extra environment.
func launch(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], args...)}
	p.cmd.Dir = fixtures.Root(t) // configs name data relative to the repository
	p.cmd.Env = append(append(os.Environ(), asCLI+"=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
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
	cases := []distCase{{"fmnist-20", []string{fixtures.Testdata(t, "test/tiny_ann.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth"), "--batch-size", "4"}}}
	if root, ok := fixtures.SharedDir(t); ok && !testing.Short() {
		cases = append(cases, distCase{"imagenet-30", []string{"mobileone-s0_deploy_8xb32_in1k", filepath.Join(root, "checkpoints/s0_deploy.pth"),
			"--data-root", filepath.Join(root, "imagenet"), "--batch-size", "4"}})
	}
	return cases
}

func torchrunEnv(rank, world int) []string {
	return []string{fmt.Sprintf("RANK=%d", rank), fmt.Sprintf("LOCAL_RANK=%d", rank), fmt.Sprintf("WORLD_SIZE=%d", world),
		"MASTER_ADDR=127.0.0.1", "MASTER_PORT=29500", "TORCHELASTIC_RUN_ID=none"}
}

func slurmEnv(rank, world int) []string {
	return []string{fmt.Sprintf("SLURM_PROCID=%d", rank), fmt.Sprintf("SLURM_LOCALID=%d", rank), fmt.Sprintf("SLURM_NTASKS=%d", world),
		"SLURM_NODELIST=localhost", "SLURM_JOB_ID=4242", "SLURM_STEP_ID=0"}
}

// wait waits for p (at most limit) and returns its exit code.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running after %s\n%s", p.cmd.Args, limit, p.stderr.String())
		return -1
	}
}

// Three ranks launched as torchrun (and as srun) launches them print the
// metrics one process prints, on rank 0 only, and rank 0 writes the
// same --out, byte for byte; the shared folder is gone afterwards.
func TestDistributedEqualsSingle(t *testing.T) {
	for _, c := range distCases(t) {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			single := launch(t, nil, slices.Concat(c.args, []string{"--work-dir", filepath.Join(dir, "single"), "--out", filepath.Join(dir, "single.pkl")})...)
			if code := single.wait(t, 5*time.Minute); code != 0 {
				t.Fatalf("single process: exit %d\n%s", code, single.stderr.String())
			}
			want := metricsOf(single.stdout.String())
			if !strings.Contains(want, "accuracy/top1: ") {
				t.Fatalf("single process printed %q", single.stdout.String())
			}
			wantOut, err := os.ReadFile(filepath.Join(dir, "single.pkl"))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []struct {
				name, launcher string
				env            func(rank, world int) []string
			}{{"torchrun", "pytorch", torchrunEnv}, {"srun", "slurm", slurmEnv}} {
				work, out := filepath.Join(dir, l.name), filepath.Join(dir, l.name+".pkl")
				var ranks []*proc
				for r := range 3 {
					ranks = append(ranks, launch(t, l.env(r, 3), slices.Concat(c.args,
						[]string{"--launcher", l.launcher, "--work-dir", work, "--out", out, "--dist-timeout", "2m"})...))
				}
				for r, p := range ranks {
					if code := p.wait(t, 5*time.Minute); code != 0 {
						t.Fatalf("%s rank %d: exit %d\n%s", l.name, r, code, p.stderr.String())
					}
					if r > 0 && p.stdout.Len() > 0 {
						t.Errorf("%s rank %d printed %q: only rank 0 prints", l.name, r, p.stdout.String())
					}
				}
				if got := metricsOf(ranks[0].stdout.String()); got != want {
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
	var ranks []*proc
	for r := range 3 {
		// 7 images of 500 ms each: a rank runs for 3.5 s at least.
		ranks = append(ranks, launch(t, append(torchrunEnv(r, 3), slowDecode+"=500ms"), args...))
	}
	time.Sleep(1500 * time.Millisecond)
	if err := ranks[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for _, r := range []int{0, 2} {
		code := ranks[r].wait(t, 2*time.Minute)
		if code == 0 {
			t.Errorf("rank %d exited 0 after rank 1 was killed\n%s", r, ranks[r].stderr.String())
		}
		t.Logf("rank %d: exit %d after %s: %s", r, code, time.Since(killed).Round(100*time.Millisecond), lastLine(ranks[r].stderr.String()))
	}
	ranks[1].wait(t, time.Minute)
	// rank 0 finishes its 7 images (3.5 s), then notices within the timeout
	if d := time.Since(killed); d > 3500*time.Millisecond+timeout+20*time.Second {
		t.Errorf("the ranks stopped %s after the kill", d)
	}
	if !strings.Contains(ranks[0].stderr.String(), "rank 1") {
		t.Errorf("rank 0 does not name rank 1:\n%s", ranks[0].stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out exists after a failed run: %v", err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
