// Package proctest runs a command of the binary as separate processes in
// tests (the ranks of a distributed run): the test binary re-executes
// itself with an environment variable that makes its TestMain run the
// command instead of the tests.
package proctest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/dist"
)

// childVar is set in the environment of the processes Launch starts.
const childVar = "MOBILEONE_PROCTEST_CHILD"

// RunIfChild is called first in TestMain: in a process started by Launch
// it runs the command built by newCmd with the process's arguments and
// exits with the command's exit code; otherwise it returns.
func RunIfChild(newCmd func(f *cmdutil.Factory) *cobra.Command) {
	if os.Getenv(childVar) != "1" {
		return
	}
	cmd := newCmd(cmdutil.NewFactory("test"))
	cmd.SetArgs(os.Args[1:])
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	os.Exit(cmdutil.ExitCode(err))
}

// Proc is a command running in another process.
type Proc struct {
	Cmd            *exec.Cmd
	Stdout, Stderr bytes.Buffer
}

// Launch starts the test binary as the command with args, in dir, with
// env added to the environment.
func Launch(t *testing.T, dir string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Cmd: exec.Command(os.Args[0], args...)}
	p.Cmd.Dir = dir
	p.Cmd.Env = append(append(os.Environ(), childVar+"=1"), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = &p.Stdout, &p.Stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Wait waits for the process (at most limit, then kills it and fails the
// test) and returns its exit code.
func (p *Proc) Wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case <-done:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		p.Cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running after %s\n%s", p.Cmd.Args, limit, p.Stderr.String())
		return -1
	}
}

// TorchrunEnv is what torchrun sets for one process of world on one
// machine.
func TorchrunEnv(rank, world int) []string {
	return []string{fmt.Sprintf("RANK=%d", rank), fmt.Sprintf("LOCAL_RANK=%d", rank), fmt.Sprintf("WORLD_SIZE=%d", world),
		"MASTER_ADDR=127.0.0.1", "MASTER_PORT=29500", "TORCHELASTIC_RUN_ID=none"}
}

// SlurmEnv is what srun sets for one task of world on one node.
func SlurmEnv(rank, world int) []string {
	return []string{fmt.Sprintf("SLURM_PROCID=%d", rank), fmt.Sprintf("SLURM_LOCALID=%d", rank), fmt.Sprintf("SLURM_NTASKS=%d", world),
		"SLURM_NODELIST=localhost", "SLURM_JOB_ID=4242", "SLURM_STEP_ID=0"}
}

// BadEnv is a launcher environment that dist.FromEnv refuses, and the
// variable its error names.
type BadEnv struct {
	Launcher string
	Env      []string
	Var      string
}

// BadEnvs are the launcher environments a command with --launcher must
// refuse before it does anything: a variable missing, a rank outside the
// world.
var BadEnvs = []BadEnv{
	{"pytorch", []string{"LOCAL_RANK=0", "WORLD_SIZE=2"}, "RANK"},
	{"pytorch", []string{"RANK=0", "LOCAL_RANK=0"}, "WORLD_SIZE"},
	{"pytorch", []string{"RANK=2", "LOCAL_RANK=0", "WORLD_SIZE=2"}, "RANK"},
	{"slurm", []string{"SLURM_NTASKS=2", "SLURM_NODELIST=localhost"}, "SLURM_PROCID"},
	{"slurm", []string{"SLURM_PROCID=3", "SLURM_NTASKS=2", "SLURM_NODELIST=localhost"}, "SLURM_PROCID"},
}

// CheckRefused runs run (a command with --launcher c.Launcher --work-dir
// work, in c's environment) and reports what is wrong: the error must be a
// dist.EnvError naming c.Var, the exit code cmdutil.ExitError, and the work
// dir must not have been made (the refusal comes before any rank work).
func (c BadEnv) CheckRefused(t *testing.T, run func(work string) error) {
	t.Helper()
	Setenv(t, c.Env)
	work := filepath.Join(t.TempDir(), "work")
	err := run(work)
	var ee *dist.EnvError
	if !errors.As(err, &ee) || ee.Var != c.Var || !strings.Contains(err.Error(), c.Var) {
		t.Errorf("--launcher %s %v: err = %v, want an error naming %s", c.Launcher, c.Env, err, c.Var)
	}
	if cmdutil.ExitCode(err) != cmdutil.ExitError {
		t.Errorf("--launcher %s %v: exit code %d, want %d", c.Launcher, c.Env, cmdutil.ExitCode(err), cmdutil.ExitError)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("--launcher %s %v: the work dir was made (%v)", c.Launcher, c.Env, err)
	}
}

// launcherVars are every variable dist.FromEnv reads.
var launcherVars = []string{"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID", "MOBILEONE_RUN_ID",
	"SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_NODELIST", "SLURM_JOB_ID", "SLURM_STEP_ID",
	"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"}

// Setenv makes env (KEY=VALUE) the launcher environment of this process
// for the rest of the test: every other launcher variable is unset.
func Setenv(t *testing.T, env []string) {
	t.Helper()
	for _, k := range launcherVars {
		t.Setenv(k, "") // restores the old value after the test
		os.Unsetenv(k)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}
