// Package clitest runs the mobileone command line in-process for the
// end-to-end tests of the command packages.
package clitest

import (
	"context"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/cmd/root"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// Run executes `mobileone args...` as the process would (root.Run, exit
// code mapping included) and returns stdout, stderr and the exit code.
func Run(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	code = root.Run(context.Background(), &cmdutil.Factory{IO: ios, Version: "test"}, args)
	return out.String(), errOut.String(), code
}
