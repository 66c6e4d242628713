// Package readfile reads whole files with a size bound: a regular file
// larger than the bound is refused before it is read, and a stream
// without a size (/dev/zero, a FIFO, a pipe) is read up to the bound and
// refused beyond, so that no input makes the process read without end.
package readfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// TooLargeError reports an input over the bound.
type TooLargeError struct {
	Limit int64
	Size  int64 // the file's size, or -1 for a stream
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("stream is longer than the %d bytes allowed", e.Limit)
	}
	return fmt.Sprintf("file of %d bytes is larger than the %d bytes allowed", e.Size, e.Limit)
}

// ErrIsDir reports a folder where a file was expected.
var ErrIsDir = errors.New("is a directory")

// Read reads the file at path, at most limit bytes, once check (when not
// nil) has accepted its first probe bytes (fewer when the file is
// shorter): an input check refuses is refused after reading only those.
// Errors are *os.PathError values naming the file (wrapping
// *TooLargeError, ErrIsDir or check's error for those cases).
func Read(path string, limit int64, probe int, check func(head []byte) error) ([]byte, error) {
	f, hint, err := open(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, probe)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if check != nil {
		if err := check(head[:n]); err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
	}
	if n < probe { // the whole file
		return head[:n], nil
	}
	data, err := ReadAll(f, head[:n], limit, hint)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

// open opens path for reading whole: not a folder, and a regular file not
// larger than limit, whose size it returns (-1 for a stream).
func open(path string, limit int64) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = &os.PathError{Op: "read", Path: path, Err: ErrIsDir}
	}
	if err == nil && st.Mode().IsRegular() && st.Size() > limit {
		err = &os.PathError{Op: "read", Path: path, Err: &TooLargeError{Limit: limit, Size: st.Size()}}
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return f, -1, nil
	}
	return f, st.Size(), nil
}

// ReadAll appends what r holds to data, up to limit bytes in all; beyond
// that it returns a *TooLargeError (Size -1). sizeHint, when >= 0, sizes
// the buffer.
func ReadAll(r io.Reader, data []byte, limit, sizeHint int64) ([]byte, error) {
	if sizeHint >= 0 && int64(cap(data)) < min(sizeHint, limit)+1 {
		d := make([]byte, len(data), min(sizeHint, limit)+1)
		copy(d, data)
		data = d
	}
	for {
		if int64(len(data)) > limit {
			return nil, &TooLargeError{Limit: limit, Size: -1}
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		top := int64(cap(data))
		if top > limit+1 {
			top = limit + 1
		}
		n, err := r.Read(data[len(data):top])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// ErrBinary reports a file expected to be text whose first bytes hold a
// NUL byte (a binary file, /dev/zero).
var ErrBinary = errors.New("not a text file (it holds NUL bytes)")

// textProbe is how much of a text file is checked before the rest is read.
const textProbe = 4096

// ReadText is Read for a text file: a NUL byte in the first 4 KiB refuses
// the file before the rest is read.
func ReadText(path string, limit int64) ([]byte, error) {
	return Read(path, limit, textProbe, func(head []byte) error {
		if bytes.IndexByte(head, 0) >= 0 {
			return ErrBinary
		}
		return nil
	})
}
