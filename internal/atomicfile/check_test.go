package atomicfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ReadOnlyDir returns a folder the test process cannot create files in: a
// 0555 temporary folder, or /sys when running as root (root ignores the
// mode bits; sysfs refuses new files to everybody).
func readOnlyDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() == 0 {
		return "/sys"
	}
	d := t.TempDir()
	if err := os.Chmod(d, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(d, 0o755) })
	return d
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "model.pth")
	if err := os.WriteFile(in, []byte("ckpt"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.pth")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.pth")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, nil, 0o644)
	for _, c := range []struct {
		name, out string
		want      string // "" = ok
	}{
		{"new file", filepath.Join(dir, "out.pth"), ""},
		{"new folders", filepath.Join(dir, "a", "b", "out.pth"), ""},
		{"other existing file", file, ""},
		{"folder", dir, "is a directory"},
		{"the input", in, "is the input " + in},
		{"symlink to the input", link, "is the input " + in},
		{"hard link to the input", hard, "is the input " + in},
		{"under a file", filepath.Join(file, "out.pth"), file + " is not a directory"},
		{"read-only folder", filepath.Join(readOnlyDir(t), "out.pth"), "is not writable"},
	} {
		err := CheckFile(c.out, in)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("CheckFile left files or folders: %v", entries)
	}
	if err := CheckDir(filepath.Join(readOnlyDir(t), "work")); err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("CheckDir(read-only) = %v", err)
	}
	if err := CheckDir(file); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("CheckDir(file) = %v", err)
	}
}

// deadPID returns a pid that is certainly dead: that of a child (this test
// binary, running no test) that has exited and been reaped. It needs no
// other program on the machine.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

func TestSweepRemovesOnlyStaleTempsOfOurs(t *testing.T) {
	dir := t.TempDir()
	dead := deadPID(t)
	old := time.Now().Add(-2 * StaleAge)
	files := map[string]bool{ // name -> removed by Sweep
		".epoch_3.pth.tmp-" + hostTag + "-" + strconv.Itoa(dead) + "-123":          true,  // writer gone
		".epoch_4.pth.tmp-" + hostTag + "-" + strconv.Itoa(os.Getppid()) + "-1234": false, // writer alive
		".epoch_5.pth.tmp-" + hostTag + "-" + strconv.Itoa(os.Getpid()) + "-99":    false, // our own
		".out.pth.tmp-0badc0de-" + strconv.Itoa(dead) + "-5":                       false, // another host, fresh
		".old.pth.tmp-94657086": false, // earlier naming, fresh
		"epoch_3.pth":           false,
		".hidden.tmp-notdigits": false,
		"notes.tmp-1234":        false,
		".keep.pth.tmp-1-2-3-x": false,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	aged := map[string]bool{
		".aged.pth.tmp-0badc0de-1-5": true, // another host, untouched for 2h
		".aged.pth.tmp-777":          true, // earlier naming, untouched for 2h
	}
	for name, rm := range aged {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("x"), 0o644)
		os.Chtimes(p, old, old)
		files[name] = rm
	}
	os.Mkdir(filepath.Join(dir, ".sub.tmp-1"), 0o755) // a folder, never touched
	removed, err := Sweep(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range removed {
		got[filepath.Base(p)] = true
	}
	for name, want := range files {
		_, statErr := os.Stat(filepath.Join(dir, name))
		if got[name] != want || (statErr == nil) == want {
			t.Errorf("%s: removed=%v (on disk: %v), want removed=%v", name, got[name], statErr == nil, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".sub.tmp-1")); err != nil {
		t.Error("Sweep removed a folder")
	}
}

func TestWriteSweepsTheTargetFolder(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".epoch_1.pth.tmp-"+hostTag+"-"+strconv.Itoa(deadPID(t))+"-42")
	os.WriteFile(stale, make([]byte, 1<<20), 0o644)
	if err := WriteFile(filepath.Join(dir, "epoch_2.pth"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the stale temporary file of a killed writer is still there")
	}
}
