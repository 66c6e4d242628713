// Package atomicfile writes files so that readers (and a crash) see either
// the old file or the complete new one, never a half-written file: the data
// goes to a temporary file in the destination's folder, which is synced and
// then renamed over the destination.
//
// Temporary files are named ".<name>.tmp-<host>-<pid>-<random>". Every
// write first sweeps the destination folder of such files left by a
// process that was killed (see Sweep), and the temporary files of writes in
// progress can be removed at once by RemoveTemps (the process's forced exit
// on a second Ctrl-C).
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Write creates path with mode 0644 from what fill writes. If fill (or any
// step) fails, the temporary file is removed and path is left as it was.
func Write(path string, fill func(w io.Writer) error) error {
	return WriteContext(context.Background(), path, fill)
}

// WriteContext is Write that stops when ctx is done: every write through
// the writer handed to fill fails with ctx's error from then on, and the
// destination is not replaced.
func WriteContext(ctx context.Context, path string, fill func(w io.Writer) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return &os.PathError{Op: "write", Path: path, Err: errors.New("is a directory")}
	}
	_, _ = Sweep(dir) // best effort: a folder we cannot list fails just below
	tmp, err := os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return err
	}
	inFlight.add(tmp.Name())
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
		inFlight.remove(tmp.Name())
	}()
	if err = fill(ctxWriter{ctx, tmp}); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil { // persist the rename (best effort)
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// WriteFile is Write for data already in memory.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ctxWriter fails every Write once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// hostTag identifies this machine in temporary file names, so that a sweep
// never judges a file written from another host of a shared file system by
// this host's process table.
var hostTag = func() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(h)))
}()

func tempPrefix(base string) string {
	return fmt.Sprintf(".%s.tmp-%s-%d-", base, hostTag, os.Getpid())
}

// registry holds the temporary files of writes in progress.
type registry struct {
	mu    sync.Mutex
	files map[string]bool
}

var inFlight = &registry{files: map[string]bool{}}

func (r *registry) add(name string) {
	r.mu.Lock()
	r.files[name] = true
	r.mu.Unlock()
}

func (r *registry) remove(name string) {
	r.mu.Lock()
	delete(r.files, name)
	r.mu.Unlock()
}

// RemoveTemps removes the temporary files of every write in progress. It is
// for a process about to exit without unwinding (a forced exit on a second
// interrupt): the destinations are left as they were.
func RemoveTemps() {
	inFlight.mu.Lock()
	defer inFlight.mu.Unlock()
	for name := range inFlight.files {
		os.Remove(name)
		delete(inFlight.files, name)
	}
}
