package reparameterize

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

func TestDstSuffixIsRequired(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	cmd := NewCmdReparameterize(&cmdutil.Factory{IO: ios}, func(context.Context, *Options) error { return nil })
	cmd.SetArgs([]string{"cfg.py", "src.pth", "out.bin"})
	cmd.SetOut(ios.ErrOut)
	cmd.SetErr(ios.ErrOut)
	err := cmd.Execute()
	if err == nil || cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), ".pth or .tar") {
		t.Fatalf("err = %v (exit %d)", err, cmdutil.ExitCode(err))
	}
}

// sameTensors compares two state dicts key by key; float tensors must agree
// to maxRel relative to each tensor's largest magnitude.
func sameTensors(t *testing.T, got, want *checkpoint.StateDict, maxRel float64) {
	t.Helper()
	if strings.Join(got.Keys, ",") != strings.Join(want.Keys, ",") {
		t.Fatalf("keys differ:\n got %v\nwant %v", got.Keys, want.Keys)
	}
	for _, k := range want.Keys {
		g, w := got.Tensors[k], want.Tensors[k]
		if g.DType != w.DType || len(g.Shape) != len(w.Shape) {
			t.Fatalf("%s: %s%v, want %s%v", k, g.DType, g.Shape, w.DType, w.Shape)
		}
		scale, worst := 0.0, 0.0
		for i := range w.F32 {
			scale = math.Max(scale, math.Abs(float64(w.F32[i])))
			worst = math.Max(worst, math.Abs(float64(g.F32[i]-w.F32[i])))
		}
		if worst > maxRel*math.Max(scale, 1e-30) {
			t.Errorf("%s: max |diff| %g (scale %g)", k, worst, scale)
		}
		for i := range w.I64 {
			if g.I64[i] != w.I64[i] {
				t.Errorf("%s[%d] = %d, want %d", k, i, g.I64[i], w.I64[i])
			}
		}
	}
}

func load(t *testing.T, path string) (*checkpoint.File, *checkpoint.StateDict) {
	t.Helper()
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	return f, sd
}

// The Go fusion uses upstream's float32 operation order, so the converted
// weights equal reparameterize_model.py's output to the last bit or so
// (1e-6 relative), and the rest of the checkpoint (meta) is kept.
func TestReparameterizeTinyMatchesUpstream(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub", "tiny_deploy.pth")
	ios, _, stdout, stderr := cmdutil.Test()
	err := run(context.Background(), &Options{IO: ios, Config: fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"),
		Src: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), Dst: out})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout.String(), "Converting...") || !strings.Contains(stdout.String(), `Done! Save at path "`+out+`"`) {
		t.Errorf("stdout = %q", stdout)
	}
	gotFile, got := load(t, out)
	wantFile, want := load(t, fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"))
	sameTensors(t, got, want, 1e-6)
	if g, w := strings.Join(gotFile.Classes(), ","), strings.Join(wantFile.Classes(), ","); g != w || g == "" {
		t.Errorf("classes %q, want %q", g, w)
	}
	gm, wm := gotFile.Meta(), wantFile.Meta()
	for _, key := range []string{"epoch", "iter", "cfg", "seed", "experiment_name"} {
		g, _ := gm.Get(key)
		w, _ := wm.Get(key)
		if g != w {
			t.Errorf("meta.%s = %v, want %v", key, g, w)
		}
	}
	// Converting twice gives identical bytes.
	out2 := filepath.Join(t.TempDir(), "again.pth")
	if err := run(context.Background(), &Options{IO: ios, Config: fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"),
		Src: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), Dst: out2}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if string(a) != string(b) {
		t.Error("two conversions differ")
	}
}

func TestReparameterizeS0MatchesUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: s0 conversion in -short mode")
	}
	src := fixtures.Shared(t, "checkpoints/s0_train.pth")
	out := filepath.Join(t.TempDir(), "s0_deploy.pth")
	ios, _, _, stderr := cmdutil.Test()
	if err := run(context.Background(), &Options{IO: ios, Config: "mobileone-s0_8xb32_in1k", Src: src, Dst: out}); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	_, got := load(t, out)
	_, want := load(t, fixtures.Shared(t, "checkpoints/s0_deploy.pth"))
	sameTensors(t, got, want, 1e-6)
}

// s1_deploy.pth is not shipped; the manifest has per-tensor digests.
func TestReparameterizeS1MatchesDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: s1 conversion in -short mode")
	}
	src := fixtures.Shared(t, "checkpoints/s1_train.pth")
	raw, err := os.ReadFile(fixtures.Shared(t, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Models map[string]struct {
			Digest map[string]struct {
				Numel int       `json:"numel"`
				Sum   float64   `json:"sum"`
				L2    float64   `json:"l2"`
				First []float64 `json:"first"`
			} `json:"deploy_tensor_digest"`
		} `json:"models"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "s1_deploy.pth")
	ios, _, _, stderr := cmdutil.Test()
	if err := run(context.Background(), &Options{IO: ios, Config: "mobileone-s1_8xb32_in1k", Src: src, Dst: out}); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	_, got := load(t, out)
	digests := man.Models["s1"].Digest
	if len(digests) == 0 || len(digests) != got.Len() {
		t.Fatalf("%d digests for %d tensors", len(digests), got.Len())
	}
	for k, d := range digests {
		g := got.Tensors[k]
		if g == nil || len(g.F32) != d.Numel {
			t.Fatalf("%s: missing or wrong size", k)
		}
		var sum, l2 float64
		for _, v := range g.F32 {
			sum += float64(v)
			l2 += float64(v) * float64(v)
		}
		l2 = math.Sqrt(l2)
		if math.Abs(l2-d.L2) > 1e-5*d.L2 || math.Abs(sum-d.Sum) > 1e-5*math.Max(1, d.L2*math.Sqrt(float64(d.Numel))) {
			t.Errorf("%s: sum %g l2 %g, want %g %g", k, sum, l2, d.Sum, d.L2)
		}
		for i, f := range d.First {
			if math.Abs(float64(g.F32[i])-f) > 1e-6*math.Max(1, math.Abs(f)) {
				t.Errorf("%s[%d] = %g, want %g", k, i, g.F32[i], f)
			}
		}
	}
}

func TestReparameterizeErrors(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	dir := t.TempDir()
	cfg := fixtures.Testdata(t, "demo/mobileone-tiny_demo.py")
	// A deploy checkpoint, with either config, is already reparameterized.
	for _, c := range []string{cfg, fixtures.Testdata(t, "demo/mobileone-tiny_demo_deploy.py")} {
		err := run(context.Background(), &Options{IO: ios, Config: c, Src: fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"), Dst: filepath.Join(dir, "a.pth")})
		if err == nil || !strings.Contains(err.Error(), "tiny_deploy.pth: this checkpoint is already reparameterized") {
			t.Errorf("deploy source with %s: %v", c, err)
		}
	}
	// A checkpoint of another model says the architectures differ.
	err := run(context.Background(), &Options{IO: ios, Config: "mobileone-s0_8xb32_in1k", Src: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), Dst: filepath.Join(dir, "b.pth")})
	if err == nil || !strings.Contains(err.Error(), "tiny_train.pth: the checkpoint's architecture differs from the config's model") {
		t.Errorf("wrong model: %v", err)
	}
	// Ctrl-C before the write: nothing is written, exit code 130.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = run(ctx, &Options{IO: ios, Config: cfg, Src: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), Dst: filepath.Join(dir, "d.pth")})
	if cmdutil.ExitCode(err) != cmdutil.ExitCancel {
		t.Errorf("cancelled: exit code %d (%v)", cmdutil.ExitCode(err), err)
	}
	// Not a checkpoint.
	bad := filepath.Join(dir, "bad.pth")
	os.WriteFile(bad, []byte("hello"), 0o644)
	err = run(context.Background(), &Options{IO: ios, Config: cfg, Src: bad, Dst: filepath.Join(dir, "c.pth")})
	if err == nil || !strings.Contains(err.Error(), "bad.pth") {
		t.Errorf("bad source: %v", err)
	}
	for _, name := range []string{"a.pth", "b.pth", "c.pth", "d.pth"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s written despite the error", name)
		}
	}
}

// SRC given as a URL is read from its file in the torch hub cache; DST
// naming that cached file is refused like DST naming SRC, and the cached
// checkpoint is left as it was.
func TestDstIsTheCachedSrc(t *testing.T) {
	t.Setenv("TORCH_HOME", t.TempDir())
	hub, err := checkpoint.HubDir()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(fixtures.Testdata(t, "checkpoint/tiny_train.pth"))
	if err != nil {
		t.Fatal(err)
	}
	cached := filepath.Join(hub, "tiny_train.pth")
	if err := os.MkdirAll(hub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cached, want, 0o644); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := cmdutil.Test()
	// Nothing listens there: the cached file is used without a download.
	err = run(context.Background(), &Options{IO: ios, Config: fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"),
		Src: "http://127.0.0.1:9/tiny_train.pth", Dst: cached})
	if err == nil || !strings.Contains(err.Error(), "output "+cached+": is the input "+cached+": refusing to overwrite it") {
		t.Fatalf("err = %v", err)
	}
	if got, err := os.ReadFile(cached); err != nil || string(got) != string(want) {
		t.Errorf("the cached checkpoint changed (%d bytes, %v)", len(got), err)
	}
}
