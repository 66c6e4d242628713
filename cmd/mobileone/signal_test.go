package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptReachesABlockedRead: infer reading a FIFO that never
// delivers (a read that does not return) stops on SIGINT and on SIGTERM
// with exit code 130, without waiting for the read.
func TestInterruptReachesABlockedRead(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the binary and waits for it to block")
	}
	repo, dir, bin := binary(t)
	fifo := filepath.Join(dir, "photo.jpg")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(bin, "infer", fifo, "--config", filepath.Join(repo, "testdata/demo/mobileone-tiny_demo.py"),
			"--checkpoint", filepath.Join(repo, "testdata/checkpoint/tiny_train.pth"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // the model is loaded; a worker blocks opening the FIFO
		start := time.Now()
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: still running 10 s after the signal", sig)
		}
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("%v: exit code %d, want 130; stderr:\n%s", sig, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "interrupted: stopping") {
			t.Errorf("%v: stderr lacks the interrupt notice:\n%s", sig, stderr.String())
		}
		t.Logf("%v: exited %v after the signal", sig, time.Since(start).Round(time.Millisecond))
	}
}

// TestSecondInterruptExitsAtOnce: reparameterize whose CONFIG is a FIFO
// (configs may be pipes: print-config <(...)) blocks in open(2), where no
// context reaches; the first SIGINT cannot stop it, the second exits at
// once with 130 and leaves no output.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the binary and waits for it to block")
	}
	repo, dir, bin := binary(t)
	fifo := filepath.Join(dir, "config.py")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "out", "dst.pth")
	cmd := exec.Command(bin, "reparameterize", fifo, filepath.Join(repo, "testdata/checkpoint/tiny_train.pth"), dst)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
		t.Fatalf("exited on the first interrupt while blocked in open (exit %d): the test no longer blocks", cmd.ProcessState.ExitCode())
	case <-time.After(500 * time.Millisecond):
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 10 s after the second interrupt")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d, want 130; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupt again to exit at once") {
		t.Errorf("stderr lacks the notice:\n%s", stderr.String())
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("DST was written")
	}
}
