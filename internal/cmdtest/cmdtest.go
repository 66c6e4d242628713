// Package cmdtest parses command lines for the tests of the command
// packages (pkg/cmd/<verb>): a test builds its command with a run function
// that captures the Options, and Execute checks the flags and arguments.
//
// It is apart from internal/clitest because clitest runs the whole command
// line through pkg/cmd/root, which imports every command package: a
// command package's own (internal) test cannot import it.
package cmdtest

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// Factory returns a factory on test streams (cmdutil.Test) for building
// the command under test.
func Factory() *cmdutil.Factory {
	ios, _, _, _ := cmdutil.Test()
	return &cmdutil.Factory{IO: ios}
}

// Execute runs cmd with args as its command line, usage and error
// messages discarded, and returns cobra's error: that of a flag or
// argument check, or of the command's run function.
func Execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return cmd.Execute()
}
