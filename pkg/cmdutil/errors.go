package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/mobileone-go/mobileone/pkg/dist"
)

// FlagError is a usage problem (a bad flag or argument): the command's
// usage is printed after the message and the exit code is 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf returns a FlagError with a formatted message.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ErrSilent is returned by a command that has already told the user what
// went wrong; the exit code is 1 and nothing more is printed.
var ErrSilent = errors.New("silent error")

// ErrCancel is returned when the user interrupted the command (exit code 130).
var ErrCancel = errors.New("cancelled")

// DistError is the error of a run that ended early with err: the failure
// or silence of another rank (a dist.Group's ctx ended because of it)
// rather than the cancellation it caused, ErrCancel when ctx ended
// otherwise (an interrupt), and err itself when ctx is live.
func DistError(ctx context.Context, err error) error {
	if derr := dist.Failure(ctx); derr != nil {
		return derr
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %v", ErrCancel, err)
	}
	return err
}

// Exit codes of the mobileone binary.
const (
	ExitOK     = 0
	ExitError  = 1
	ExitUsage  = 2
	ExitCancel = 130
)

// ExitCode maps an error returned by a command to the process exit code.
// It is the only place that knows about exit codes.
func ExitCode(err error) int {
	var fe *FlagError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &fe):
		return ExitUsage
	case errors.Is(err, ErrCancel):
		return ExitCancel
	default:
		return ExitError
	}
}

// ParseShape reads a --shape flag given as H or H,W.
func ParseShape(shape []int) (h, w int, err error) {
	switch len(shape) {
	case 1:
		return shape[0], shape[0], nil
	case 2:
		return shape[0], shape[1], nil
	}
	return 0, 0, FlagErrorf("--shape takes H or H,W, got %d values", len(shape))
}
