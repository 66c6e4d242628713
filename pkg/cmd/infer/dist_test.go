package infer

import (
	"bytes"
	"fmt"
	"os"

	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/proctest"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

func TestMain(m *testing.M) {
	proctest.RunIfChild(func(f *cmdutil.Factory) *cobra.Command { return NewCmdInfer(f, nil) })
	os.Exit(m.Run())
}

// Three ranks (and five, more ranks than some shares) print on rank 0
// what one process prints, and write the same --out; the others print
// nothing.
func TestDistributedInferEqualsSingle(t *testing.T) {
	images := []string{fixtures.Testdata(t, "imagenet")}
	if dir, ok := fixtures.SharedDir(t); ok {
		images = append(images, filepath.Join(dir, "inputs/images"))
	}
	common := slices.Concat(images, []string{"--config", fixtures.Testdata(t, "demo/mobileone-tiny_demo_deploy.py"),
		"--checkpoint", fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"), "--batch-size", "2", "--topk", "3"})
	for _, format := range []string{"--json", "--topk=2"} {
		dir := t.TempDir()
		single := proctest.Launch(t, "", nil, slices.Concat(common, []string{format, "--out", filepath.Join(dir, "single.jsonl")})...)
		if c := single.Wait(t, 3*time.Minute); c != 0 {
			t.Fatalf("single: exit %d\n%s", c, single.Stderr.String())
		}
		wantOut, _ := os.ReadFile(filepath.Join(dir, "single.jsonl"))
		for _, world := range []int{3, 5} {
			out := filepath.Join(dir, fmt.Sprintf("w%d.jsonl", world))
			var ranks []*proctest.Proc
			for r := range world {
				ranks = append(ranks, proctest.Launch(t, "", proctest.TorchrunEnv(r, world), slices.Concat(common, []string{format, "--out", out,
					"--launcher", "pytorch", "--work-dir", filepath.Join(dir, fmt.Sprint(world))})...))
			}
			for r, p := range ranks {
				if c := p.Wait(t, 3*time.Minute); c != 0 {
					t.Fatalf("world %d rank %d: exit %d\n%s", world, r, c, p.Stderr.String())
				}
				if r > 0 && p.Stdout.Len() > 0 {
					t.Errorf("world %d rank %d printed %q", world, r, p.Stdout.String())
				}
			}
			if ranks[0].Stdout.String() != single.Stdout.String() {
				t.Errorf("%s, world %d: rank 0 printed\n%s\none process\n%s", format, world, ranks[0].Stdout.String(), single.Stdout.String())
			}
			if got, _ := os.ReadFile(out); len(wantOut) == 0 || !bytes.Equal(got, wantOut) {
				t.Errorf("%s, world %d: --out differs", format, world)
			}
		}
	}
}

// A corrupt image on one rank stops every rank with an error, and no
// --out is written.
func TestDistributedInferFailure(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jpg")
	os.WriteFile(bad, []byte("\xff\xd8\xffnot really"), 0o644)
	out := filepath.Join(dir, "out.csv")
	args := []string{fixtures.Testdata(t, "imagenet/skimage_chelsea.png"), bad, fixtures.Testdata(t, "imagenet/skimage_camera.png"),
		"--config", fixtures.Testdata(t, "demo/mobileone-tiny_demo_deploy.py"), "--checkpoint", fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"),
		"--launcher", "pytorch", "--work-dir", filepath.Join(dir, "w"), "--out", out, "--dist-timeout", "1m"}
	var ranks []*proctest.Proc
	for r := range 3 {
		ranks = append(ranks, proctest.Launch(t, "", proctest.TorchrunEnv(r, 3), args...))
	}
	start := time.Now()
	for r, p := range ranks {
		if c := p.Wait(t, 3*time.Minute); c == 0 {
			t.Errorf("rank %d exited 0\n%s", r, p.Stderr.String())
		}
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the ranks took %s to stop (the timeout is 1m: they should not wait for it)", d)
	}
	if !bytes.Contains(ranks[0].Stderr.Bytes(), []byte("bad.jpg")) {
		t.Errorf("rank 0 does not name the bad image:\n%s", ranks[0].Stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out exists: %v", err)
	}
}
