package readfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	os.WriteFile(small, []byte("a 1\nb 2\n"), 0o644)
	big := filepath.Join(dir, "big.txt")
	f, _ := os.Create(big)
	f.Truncate(1 << 30) // sparse
	f.Close()
	if b, err := Read(small, 100, 0, nil); err != nil || string(b) != "a 1\nb 2\n" {
		t.Errorf("small: %q %v", b, err)
	}
	if b, err := ReadText(small, 100); err != nil || string(b) != "a 1\nb 2\n" {
		t.Errorf("small text: %q %v", b, err)
	}
	var tl *TooLargeError
	if _, err := Read(big, 1<<20, 0, nil); !errors.As(err, &tl) || tl.Size != 1<<30 || !strings.Contains(err.Error(), big) {
		t.Errorf("big: %v", err)
	}
	if _, err := Read("/dev/zero", 1<<20, 0, nil); !errors.As(err, &tl) || tl.Size != -1 {
		t.Errorf("/dev/zero: %v", err)
	}
	if _, err := ReadText("/dev/zero", 1<<30); !errors.Is(err, ErrBinary) {
		t.Errorf("/dev/zero as text: %v", err)
	}
	if _, err := Read(dir, 100, 0, nil); !errors.Is(err, ErrIsDir) {
		t.Errorf("folder: %v", err)
	}
	// A text stream longer than the probe is read whole.
	long := bytes.Repeat([]byte("line\n"), 2000)
	p := filepath.Join(dir, "long.txt")
	os.WriteFile(p, long, 0o644)
	if b, err := ReadText(p, 1<<20); err != nil || !bytes.Equal(b, long) {
		t.Errorf("long text: %d bytes, %v", len(b), err)
	}
	if _, err := ReadText(p, 5000); !errors.As(err, &tl) {
		t.Errorf("long text over the limit: %v", err)
	}
}
