package infer

import (
	"testing"

	"github.com/mobileone-go/mobileone/internal/cmdtest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/proctest"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// A launcher environment without a rank or world size, or with a rank
// outside the world, is refused with an error naming the variable, before
// the ranks would meet in the work dir or print anything.
func TestLauncherEnvErrors(t *testing.T) {
	for _, c := range proctest.BadEnvs {
		ios, _, out, _ := cmdutil.Test()
		c.CheckRefused(t, func(work string) error {
			cmd := NewCmdInfer(&cmdutil.Factory{IO: ios}, nil)
			return cmdtest.Execute(cmd, append(images(t), "--config", fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"),
				"--checkpoint", fixtures.Testdata(t, "checkpoint/tiny_train.pth"), "--launcher", c.Launcher, "--work-dir", work)...)
		})
		if out.Len() > 0 {
			t.Errorf("--launcher %s %v: printed %q", c.Launcher, c.Env, out)
		}
	}
}
