package infer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/cmdtest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/proctest"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/dist"
)

// A launcher environment without a rank or world size, or with a rank
// outside the world, is refused with an error naming the variable, before
// the ranks would meet in the work dir or print anything.
func TestLauncherEnvErrors(t *testing.T) {
	for _, c := range proctest.BadEnvs {
		proctest.Setenv(t, c.Env)
		work := filepath.Join(t.TempDir(), "work")
		ios, _, out, _ := cmdutil.Test()
		cmd := NewCmdInfer(&cmdutil.Factory{IO: ios}, nil)
		err := cmdtest.Execute(cmd, append(images(t), "--config", fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"),
			"--checkpoint", fixtures.Testdata(t, "checkpoint/tiny_train.pth"), "--launcher", c.Launcher, "--work-dir", work)...)
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
		if out.Len() > 0 {
			t.Errorf("--launcher %s %v: printed %q", c.Launcher, c.Env, out)
		}
	}
}
