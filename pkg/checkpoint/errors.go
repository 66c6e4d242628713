package checkpoint

import (
	"fmt"
	"strings"
)

// FormatError reports that the input is not a valid PyTorch checkpoint (or is
// damaged: truncated, bad CRC, inconsistent sizes, malformed pickle).
type FormatError string

func (e FormatError) Error() string { return "checkpoint: invalid format: " + string(e) }

// UnsupportedError reports a valid but unsupported feature (TorchScript
// archives, complex or quantized storages, big-endian archives, tar-format
// files, values the writer cannot encode, ...).
type UnsupportedError string

func (e UnsupportedError) Error() string { return "checkpoint: unsupported feature: " + string(e) }

// Error wraps an error with the file it concerns and, optionally, a location
// inside it (a zip record, a state-dict key). Err is a FormatError, an
// UnsupportedError, or an I/O error.
type Error struct {
	Path string // file name as given to Load/LoadBytes/Save
	Msg  string // optional context, e.g. `record "archive/data/3"`
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("checkpoint: ")
	b.WriteString(e.Path)
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	b.WriteString(": ")
	msg := e.Err.Error()
	// Avoid "checkpoint: x: checkpoint: invalid format: ..." stutter.
	msg = strings.TrimPrefix(msg, "checkpoint: ")
	b.WriteString(msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func formatErrorf(format string, args ...any) error {
	return FormatError(fmt.Sprintf(format, args...))
}

func unsupportedf(format string, args ...any) error {
	return UnsupportedError(fmt.Sprintf(format, args...))
}

// ShapeMismatch is one entry of LoadError.Mismatched.
type ShapeMismatch struct {
	Key   string
	Model []int // shape in the model
	File  []int // shape in the checkpoint
}

// LoadError is returned by Apply when the state dict does not match the
// model exactly, like torch's load_state_dict(strict=True): it lists every
// missing key, every unexpected key and every shape mismatch at once.
// The model is left unchanged when a LoadError is returned.
type LoadError struct {
	Missing    []string // model keys absent from the state dict
	Unexpected []string // state-dict keys the model does not have
	Mismatched []ShapeMismatch
}

func (e *LoadError) Error() string {
	// torch's wording, but at most `show` keys of each kind: a wrong
	// checkpoint for s0 would otherwise list 1,323 keys.
	const show = 5
	var parts []string
	if n := len(e.Unexpected); n > 0 {
		parts = append(parts, "Unexpected key(s) in state_dict: "+quoteList(head(e.Unexpected, show))+more(n, show)+".")
	}
	if n := len(e.Missing); n > 0 {
		parts = append(parts, "Missing key(s) in state_dict: "+quoteList(head(e.Missing, show))+more(n, show)+".")
	}
	for i, m := range e.Mismatched {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more size mismatches.", len(e.Mismatched)-show))
			break
		}
		parts = append(parts, fmt.Sprintf("size mismatch for %s: copying a param with shape %v from checkpoint, the shape in current model is %v.", m.Key, m.File, m.Model))
	}
	return "checkpoint: error(s) in loading state_dict: " + strings.Join(parts, " ")
}

func head(keys []string, n int) []string { return keys[:min(n, len(keys))] }

func more(total, shown int) string {
	if total <= shown {
		return ""
	}
	return fmt.Sprintf(" and %d more", total-shown)
}

func quoteList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}
