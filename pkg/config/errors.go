package config

import (
	"errors"
	"fmt"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Error is a problem with a config file or a --cfg-options item: a syntax
// error, an undefined name, a failed evaluation, a bad or cyclic _base_
// path, a key defined in two bases, a merge type conflict, or a malformed
// option. File and Line say where, when known (Line is 1-based; 0 means
// unknown). For --cfg-options errors File is "--cfg-options".
type Error struct {
	File string
	Line int
	Msg  string
	Err  error // underlying cause, if any
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("config: %s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return fmt.Sprintf("config: %s: %s", e.File, e.Msg)
	}
	return "config: " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// wrapStarlarkErr converts an error from parsing, resolving or executing a
// file into an *Error naming the file and line.
func wrapStarlarkErr(file string, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	var se syntax.Error
	if errors.As(err, &se) {
		return &Error{File: file, Line: int(se.Pos.Line), Msg: "syntax error: " + se.Msg, Err: err}
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) && len(rl) > 0 {
		return &Error{File: file, Line: int(rl[0].Pos.Line), Msg: rl[0].Msg, Err: err}
	}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		line := 0
		// The innermost frame in this file is the most useful position.
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			fr := ee.CallStack[i]
			if fr.Pos.Filename() == file && fr.Pos.Line > 0 {
				line = int(fr.Pos.Line)
				break
			}
		}
		msg := ee.Msg
		var inner *Error
		if errors.As(ee.Unwrap(), &inner) {
			msg = inner.Msg
			if inner.File != "" {
				// An error raised while loading another file
				// (a base) keeps its own position.
				return inner
			}
		}
		return &Error{File: file, Line: line, Msg: msg, Err: err}
	}
	return &Error{File: file, Msg: err.Error(), Err: err}
}
