package convert_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/clitest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// tolerance on logits of order 10 between PyTorch and our engine (float32,
// different summation orders).
const tolerance = 1e-4

// TestConvertedLogits converts checkpoints made by Apple's mobileone.py and
// timm's byobnet.py (testdata/convert/gen_fixtures.py, random weights),
// loads the results as mmpretrain checkpoints and compares our logits with
// the ones PyTorch computed with the original model; a converted
// train-time checkpoint, reparameterized by us, must also give the logits
// of the upstream project's own fused model.
func TestConvertedLogits(t *testing.T) {
	x := fixtures.ReadFloat32(t, fixtures.Testdata(t, "convert/input.bin"))
	input := &model.Tensor{Shape: []int{2, 3, 32, 32}, Data: x}
	for _, c := range []struct {
		from, src, config, want, wantFused string
		deploy                             bool
	}{
		{"apple", "apple_unfused.pth.tar", "apple_tiny.py", "apple_logits.bin", "apple_fused_logits.bin", false},
		{"apple", "apple_fused.pth.tar", "apple_tiny.py", "apple_fused_logits.bin", "", true},
		{"timm", "timm_unfused.pth", "timm_tiny.py", "timm_logits.bin", "timm_fused_logits.bin", false},
		{"timm", "timm_fused.pth", "timm_tiny.py", "timm_fused_logits.bin", "", true},
	} {
		t.Run(c.src, func(t *testing.T) {
			config := fixtures.Testdata(t, "convert/"+c.config)
			dst := filepath.Join(t.TempDir(), "out.pth")
			out, errOut, code := clitest.Run(t, "convert", "--from", c.from, fixtures.Testdata(t, "convert/"+c.src), dst, "--config", config)
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			graph := map[bool]string{false: "train-time (multi-branch)", true: "deploy (reparameterized)"}[c.deploy]
			if !strings.Contains(out, c.from+" keys, "+graph+" model, 10 classes; loads into") {
				t.Errorf("output %q", out)
			}
			f, err := checkpoint.Load(dst)
			if err != nil {
				t.Fatal(err)
			}
			if format, err := f.SourceFormat(); err != nil || format != checkpoint.FormatMMPretrain {
				t.Fatalf("written file's keys are %v (%v), want mmpretrain's", format, err)
			}
			_, mc, err := setup.Load(config, nil)
			if err != nil {
				t.Fatal(err)
			}
			mc.Deploy = c.deploy
			l, err := setup.LoadModel(context.Background(), mc, dst, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what, wantFile string) {
				got, err := l.Model.Forward(input)
				if err != nil {
					t.Fatal(err)
				}
				want := fixtures.ReadFloat32(t, fixtures.Testdata(t, "convert/"+wantFile))
				d := onnx.MaxAbsDiff(got.Data, want)
				t.Logf("%s: max |logit diff| vs PyTorch %.3g", what, d)
				if d > tolerance {
					t.Errorf("%s: max |logit diff| %g > %g", what, d, tolerance)
				}
			}
			check("converted", c.want)
			if c.wantFused != "" {
				l.Model.SwitchToDeploy()
				check("converted and reparameterized by us", c.wantFused)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.pth")
	truncated := fixtures.TruncatedCopy(t, "convert/timm_fused.pth", dir)
	notPth := fixtures.Testdata(t, "onnx/timm_tiny_fused.onnx")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"convert", "--from", "apple", fixtures.Testdata(t, "convert/timm_fused.pth"), dst}, cmdutil.ExitError, "the keys follow timm's naming, not apple's (try --from timm)"},
		{[]string{"convert", "--from", "timm", fixtures.Testdata(t, "checkpoint/tiny_train.pth"), dst}, cmdutil.ExitError, "the keys follow mmpretrain's naming, not timm's"},
		{[]string{"convert", "--from", "timm", fixtures.Testdata(t, "convert/timm_fused.pth"), dst, "--config", fixtures.Testdata(t, "convert/apple_tiny.py")}, cmdutil.ExitError, "does not load into the config's model"},
		{[]string{"convert", "--from", "timm", truncated, dst}, cmdutil.ExitError, truncated + ": invalid format"},
		{[]string{"convert", "--from", "timm", notPth, dst}, cmdutil.ExitError, notPth + ": invalid format: not a PyTorch checkpoint"},
		{[]string{"convert", "--from", "timm", filepath.Join(dir, "none.pth"), dst}, cmdutil.ExitError, "none.pth"},
		{[]string{"convert", "--from", "onnx", "a", dst}, cmdutil.ExitUsage, "--from takes apple or timm"},
		{[]string{"convert", "a", dst}, cmdutil.ExitUsage, "--from is required: apple or timm"},
		{[]string{"convert", "--from", "apple", "a", "b.bin"}, cmdutil.ExitUsage, "must be a .pth file name"},
	} {
		_, errOut, code := clitest.Run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", c.args[1:], code, errOut, c.code, c.want)
		}
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("%s exists after only failed conversions (%v)", dst, err)
	}
}

// TestLoadsTimmDirectly: the timm names are also mapped on load, so infer,
// test and reparameterize read a timm checkpoint without converting it.
func TestLoadsTimmDirectly(t *testing.T) {
	_, mc, err := setup.Load(fixtures.Testdata(t, "convert/timm_tiny.py"), []string{"model.backbone.deploy=True"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := setup.LoadModel(context.Background(), mc, fixtures.Testdata(t, "convert/timm_unfused.pth"), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	x := fixtures.ReadFloat32(t, fixtures.Testdata(t, "convert/input.bin"))
	got, err := l.Model.Forward(&model.Tensor{Shape: []int{2, 3, 32, 32}, Data: x})
	if err != nil {
		t.Fatal(err)
	}
	if d := onnx.MaxAbsDiff(got.Data, fixtures.ReadFloat32(t, fixtures.Testdata(t, "convert/timm_fused_logits.bin"))); !l.Reparameterized || d > tolerance {
		t.Errorf("reparameterized %v, max |logit diff| vs timm's fused model %g", l.Reparameterized, d)
	}
}
