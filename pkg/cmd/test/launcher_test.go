package test

import (
	"testing"

	"github.com/mobileone-go/mobileone/internal/cmdtest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/proctest"
)

// A launcher environment without a rank or world size, or with a rank
// outside the world, is refused with an error naming the variable, before
// the ranks would meet in the work dir.
func TestLauncherEnvErrors(t *testing.T) {
	for _, c := range proctest.BadEnvs {
		c.CheckRefused(t, func(work string) error {
			cmd := NewCmdTest(cmdtest.Factory(), nil)
			return cmdtest.Execute(cmd, fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth"),
				"--launcher", c.Launcher, "--work-dir", work)
		})
	}
}
