package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMemoryBounded runs the binary on inputs that once took the whole
// machine's memory (issue 15): `infer /dev/zero` read without end, and
// `benchmark --shape 20000` allocated 24 GB of activations. Each must end
// with a clear error while its peak RSS stays small. The child runs under
// `ulimit -v` so that a regression fails here instead of taking the
// machine down.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the binary four times")
	}
	repo, dir, bin := binary(t)
	cfg := filepath.Join(repo, "testdata/demo/mobileone-tiny_demo.py")
	ckpt := filepath.Join(repo, "testdata/checkpoint/tiny_train.pth")
	const maxRSS = 300 << 20
	for _, c := range []struct {
		name string
		env  string // MOBILEONE_MEMORY_LIMIT, "" for the default
		args []string
		code int
		want string
	}{
		{"infer /dev/zero", "", []string{"infer", "/dev/zero", "--config", cfg, "--checkpoint", ckpt}, 1,
			"Error: /dev/zero: imagenet: invalid format: not an image in a known format"},
		{"infer /dev/zero --skip-invalid --strict", "", []string{"infer", "/dev/zero", "--config", cfg, "--checkpoint", ckpt, "--skip-invalid", "--strict"}, 1,
			"skipped: /dev/zero: imagenet: invalid format"},
		{"benchmark --shape 20000, default limit", "", []string{"benchmark", "mobileone-s0_deploy_8xb32_in1k", "--shape", "20000"}, 1,
			"Error: the forward pass of 1 image(s) of 20000x20000 needs about "},
		{"benchmark --shape 3000 under 1GiB", "1GiB", []string{"benchmark", "mobileone-s0_deploy_8xb32_in1k", "--shape", "3000", "--iters", "1"}, 1,
			"more than the limit of 1.0 GiB (MOBILEONE_MEMORY_LIMIT=1GiB); use a smaller input or batch, or raise the limit with --memory-limit or MOBILEONE_MEMORY_LIMIT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// ulimit -v in KiB: 8 GiB of address space, far above the
			// RSS bound, far below the machine.
			cmd := exec.Command("sh", append([]string{"-c", `ulimit -v 8388608 && exec "$@"`, "sh", bin}, c.args...)...)
			cmd.Env = append(os.Environ(), "TORCH_HOME="+filepath.Join(dir, "torch"), "MOBILEONE_MEMORY_LIMIT="+c.env)
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != c.code {
				t.Errorf("exit code %d, want %d; output:\n%s", code, c.code, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Errorf("output lacks %q:\n%s", c.want, out)
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024 // KiB on Linux
			t.Logf("peak RSS %.1f MiB: %s", float64(rss)/(1<<20), strings.TrimSpace(string(out)))
			if rss > maxRSS {
				t.Errorf("peak RSS %d bytes, want at most %d", rss, maxRSS)
			}
		})
	}
}
