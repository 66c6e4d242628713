package validate_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/clitest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/onnx"
	"github.com/mobileone-go/mobileone/pkg/onnx/ort"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// tinyFile exports the tiny demo checkpoint (train-time, fused on load by
// validate's own loader) with opts, after edit changes the model, and
// returns the file's path.
func tinyFile(t *testing.T, o onnx.Options, edit func(b []float32)) string {
	t.Helper()
	l, _, _, err := setup.LoadDeploy(context.Background(), fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), nil,
		fixtures.Testdata(t, "checkpoint/tiny_train.pth"), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(l.Model.Head.FC.Bias.Data)
	}
	o.Classes = l.Classes
	mp, err := onnx.Export(l.Model, o)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tiny.onnx")
	if err := onnx.WriteFile(p, mp); err != nil {
		t.Fatal(err)
	}
	return p
}

var diffLine = regexp.MustCompile(`our engine vs (checkpoint|ONNX Runtime) \S+: max \|diff\| (\S+) on 2 random inputs of (\d+x\d+) \((ok|EXCEEDS --tolerance)\)`)

func TestValidateAgainstCheckpointAndORT(t *testing.T) {
	_, err := ort.Find()
	fixtures.NeedTool(t, "Node.js with onnxruntime-node", err)
	cfg, ckpt := fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth")
	for _, c := range []struct {
		name string
		o    onnx.Options
		args []string
		size string
	}{
		{"plain", onnx.Options{Height: 64, Width: 96}, nil, "64x96"},
		{"preprocess_softmax_dynamic", onnx.Options{Opset: 17, DynamicShape: true, Softmax: true, Preprocess: true, Normalizer: imagenet.ImageNetNormalizer()}, []string{"--shape", "80,72"}, "80x72"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := tinyFile(t, c.o, nil)
			out, errOut, code := clitest.Run(t, append([]string{"validate", file, "--config", cfg, "--checkpoint", ckpt, "--ort", "yes"}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			m := diffLine.FindAllStringSubmatch(out, -1)
			if len(m) != 2 || m[0][1] != "checkpoint" || m[0][2] != "0" || m[1][1] != "ONNX Runtime" || m[0][3] != c.size || m[1][4] != "ok" {
				t.Fatalf("output:\n%s", out)
			}
			if !strings.Contains(out, "arch custom, 10 classes") || !strings.Contains(out, `classes ["airplane" "automobile" "bird"] ... (10)`) {
				t.Errorf("output lacks the model summary:\n%s", out)
			}
			t.Logf("\n%s", out)
		})
	}
}

func TestValidateCatchesAChangedModel(t *testing.T) {
	file := tinyFile(t, onnx.Options{Height: 32, Width: 32}, func(b []float32) { b[3] += 0.01 })
	out, errOut, code := clitest.Run(t, "validate", file, "--config", fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"),
		"--checkpoint", fixtures.Testdata(t, "checkpoint/tiny_train.pth"), "--ort", "no")
	m := diffLine.FindStringSubmatch(out)
	if code != cmdutil.ExitError || m == nil || m[2] != "0.01" || m[4] != "EXCEEDS --tolerance" || !strings.Contains(errOut, "outputs differ beyond --tolerance 0.0001") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestValidateErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.onnx")
	if err := os.WriteFile(junk, []byte("\x08\x07\x12\x03abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := fixtures.TruncatedCopy(t, "onnx/mmpretrain_tiny_deploy.onnx", dir)
	pth := fixtures.Testdata(t, "checkpoint/tiny_train.pth")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"validate", junk}, cmdutil.ExitError, junk + ": not an ONNX model"},
		{[]string{"validate", filepath.Join(dir, "none.onnx")}, cmdutil.ExitError, "none.onnx"},
		{[]string{"validate", truncated, "--ort", "no"}, cmdutil.ExitError, truncated + ": not an ONNX model"},
		{[]string{"validate", pth, "--ort", "no"}, cmdutil.ExitError, pth + ": not an ONNX model"},
		{[]string{"validate", junk, "--shape", "0"}, cmdutil.ExitUsage, "--shape and --batch-size must be positive"},
		{[]string{"validate", junk, "--batch-size", "0"}, cmdutil.ExitUsage, "--shape and --batch-size must be positive"},
		{[]string{"validate", junk, "--config", "x"}, cmdutil.ExitUsage, "--config and --checkpoint go together"},
		{[]string{"validate", junk, "--ort", "maybe"}, cmdutil.ExitUsage, "--ort takes auto, yes or no"},
	} {
		_, errOut, code := clitest.Run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

// TestValidateTorchExport: a file torch.onnx wrote from upstream
// mmpretrain's model (testdata/onnx/gen_fixtures.py) maps to the checkpoint
// it was made from, and runs the same in ONNX Runtime.
func TestValidateTorchExport(t *testing.T) {
	_, err := ort.Find()
	fixtures.NeedTool(t, "Node.js with onnxruntime-node", err)
	out, errOut, code := clitest.Run(t, "validate", fixtures.Testdata(t, "onnx/mmpretrain_tiny_deploy.onnx"),
		"--config", fixtures.Testdata(t, "demo/mobileone-tiny_demo_deploy.py"), "--checkpoint", fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"),
		"--shape", "32", "--ort", "yes")
	m := diffLine.FindAllStringSubmatch(out, -1)
	if code != 0 || len(m) != 2 || m[0][2] != "0" || m[1][4] != "ok" || !strings.Contains(out, `producer "pytorch 1.13.0"`) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("\n%s", out)
}
