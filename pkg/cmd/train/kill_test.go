package train

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// TestMain lets the test binary act as `mobileone train` in a child process
// (for TestSIGKILLAndResume).
func TestMain(m *testing.M) {
	if cfg := os.Getenv("MOBILEONE_TRAIN_CHILD"); cfg != "" {
		err := run(context.Background(), &Options{IO: &cmdutil.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
			Config: cfg, WorkDir: os.Getenv("MOBILEONE_TRAIN_WORKDIR"), CfgOptions: strings.Fields(os.Getenv("MOBILEONE_TRAIN_OPTIONS"))})
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSIGKILLAndResume kills a training process with SIGKILL in the middle
// of its second epoch (no chance to clean up), checks that every
// checkpoint it left loads and no half-written file is taken for one, then
// resumes with --resume (auto) and compares the final weights with an
// uninterrupted run: they are bit-identical.
func TestSIGKILLAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	root, cfg := writeToy(t)
	opts := []string{"train_cfg.max_epochs=3", "train_dataloader.batch_size=2"}
	part := filepath.Join(root, "part")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "MOBILEONE_TRAIN_CHILD="+cfg, "MOBILEONE_TRAIN_WORKDIR="+part, "MOBILEONE_TRAIN_OPTIONS="+strings.Join(opts, " "))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill when the child logs an iteration of epoch 2 (logger interval 2,
	// 9 iterations per epoch): after epoch_1.pth, in the middle of epoch 2.
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Epoch(train) [2][") {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if !killed {
		t.Fatal("the child ended before epoch 2")
	}
	_ = cmd.Wait()
	ckpts, _ := filepath.Glob(filepath.Join(part, "epoch_*.pth"))
	if len(ckpts) == 0 || len(ckpts) == 3 {
		t.Fatalf("checkpoints after the kill: %v (want the kill inside the run)", ckpts)
	}
	for _, c := range ckpts {
		if _, err := checkpoint.Load(c); err != nil {
			t.Fatalf("%s is corrupt: %v", c, err)
		}
	}
	last, err := os.ReadFile(filepath.Join(part, "last_checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Load(strings.TrimSpace(string(last))); err != nil {
		t.Fatalf("last_checkpoint names an unreadable file: %v", err)
	}
	ios, _, _, _ := cmdutil.Test()
	if err := run(context.Background(), &Options{IO: ios, Config: cfg, WorkDir: part, Resume: "auto", CfgOptions: opts}); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(root, "full")
	ios, _, _, _ = cmdutil.Test()
	if err := run(context.Background(), &Options{IO: ios, Config: cfg, WorkDir: full, CfgOptions: opts}); err != nil {
		t.Fatal(err)
	}
	sameFinalWeights(t, filepath.Join(full, "epoch_3.pth"), filepath.Join(part, "epoch_3.pth"))
	t.Logf("killed after %v; resumed to bit-identical final weights", ckpts)
}
