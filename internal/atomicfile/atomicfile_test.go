package atomicfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesOrKeeps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := WriteFile(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("after a failed write the file holds %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := WriteFile(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("file holds %q", b)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir", "f"), nil); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}

func TestWriteContextCancelledLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.pth")
	if err := WriteFile(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err := WriteContext(ctx, p, func(w io.Writer) error {
		if _, err := w.Write([]byte("new, first half")); err != nil {
			return err
		}
		cancel() // Ctrl-C in the middle of the write
		_, err := w.Write([]byte("second half"))
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("destination holds %q, want the old content", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

func TestRemoveTempsRemovesWritesInProgress(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.pth")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".big.pth.tmp-") {
			t.Errorf("during the write the folder holds %v", entries)
		}
		RemoveTemps() // what a forced exit does
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("after RemoveTemps the folder holds %v", entries)
		}
		return errors.New("exiting")
	})
	if err == nil {
		t.Fatal("write succeeded")
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("destination exists: %v", err)
	}
}

func TestWriteToDirectoryIsAnError(t *testing.T) {
	dir := t.TempDir()
	err := WriteFile(dir, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("err = %v", err)
	}
}
