package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// missing reports a path that does not exist, also because one of its
// folders is a file (ENOTDIR): the parent check says which.
func missing(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// OutputError says why an output cannot be written; it is returned before
// any work is done, so that a long run does not fail at its end.
type OutputError struct {
	Path   string
	Reason string
	Err    error // the underlying error, if any
}

func (e *OutputError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("output %s: %s: %v", e.Path, e.Reason, e.Err)
	}
	return fmt.Sprintf("output %s: %s", e.Path, e.Reason)
}

func (e *OutputError) Unwrap() error { return e.Err }

// CheckFile reports whether Write(path, ...) can succeed, without writing
// it: path is not a folder, its folder exists or can be created and is
// writable, and path is none of inputs (compared as files, so a symlink or
// a hard link to an input counts as the input).
func CheckFile(path string, inputs ...string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return &OutputError{Path: path, Reason: "is a directory (give a file name)"}
	case err == nil:
		for _, in := range inputs {
			if ist, ierr := os.Stat(in); ierr == nil && os.SameFile(st, ist) {
				return &OutputError{Path: path, Reason: fmt.Sprintf("is the input %s: refusing to overwrite it (choose another output name)", in)}
			}
		}
	case !missing(err):
		return &OutputError{Path: path, Reason: "cannot be checked", Err: err}
	}
	return checkWritableDir(filepath.Dir(path), path)
}

// CheckDir reports whether files can be written under dir: dir is a
// folder (or can be created) and is writable.
func CheckDir(dir string) error {
	return checkWritableDir(dir, dir)
}

// checkWritableDir checks dir, or when it does not exist yet its nearest
// existing ancestor (MkdirAll will create the rest), by creating and
// removing a temporary file of our naming in it.
func checkWritableDir(dir, out string) error {
	d := dir
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return &OutputError{Path: out, Reason: fmt.Sprintf("%s is not a directory", d)}
			}
			break
		}
		if !missing(err) {
			return &OutputError{Path: out, Reason: "cannot be checked", Err: err}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return &OutputError{Path: out, Reason: "has no existing parent folder", Err: err}
		}
		d = parent
	}
	f, err := os.CreateTemp(d, tempPrefix("probe")+"*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &OutputError{Path: out, Reason: fmt.Sprintf("folder %s is not writable", d), Err: err}
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}
