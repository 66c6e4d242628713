package onnx

import (
	"context"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/onnx/ort"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// randomDeploy builds the deploy model of a built-in arch with random
// weights: Kaiming-normal convs, and (unlike a fresh model) non-zero biases
// and a head whose logits are of order 1, so that every parameter shows in
// the outputs.
func randomDeploy(t testing.TB, arch string, numClasses int, seed int64) *model.ImageClassifier {
	t.Helper()
	m, err := model.New(model.Config{Arch: model.ArchZoo[arch], Deploy: true, NumClasses: numClasses})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed))
	m.InitWeights(rng)
	blocks, _ := m.Blocks()
	randBias := func(c *model.Conv2d) {
		for i := range c.Bias.Data {
			c.Bias.Data[i] = float32(rng.NormFloat64() * 0.1)
		}
	}
	for _, b := range blocks {
		randBias(b.BranchReparam)
		if b.SE != nil {
			randBias(b.SE.Conv1)
			randBias(b.SE.Conv2)
		}
	}
	fc := m.Head.FC
	for i := range fc.Weight.Data {
		fc.Weight.Data[i] = float32(rng.NormFloat64() * 8 / math.Sqrt(float64(fc.In)))
	}
	for i := range fc.Bias.Data {
		fc.Bias.Data[i] = float32(rng.NormFloat64() * 0.1)
	}
	return m
}

// loadDeploy loads a checkpoint with a config through setup.LoadDeploy,
// the loader of export and validate (a train-time checkpoint is fused on
// the fly), and returns the deploy model and its class names.
func loadDeploy(t testing.TB, config, ckpt string) (*model.ImageClassifier, []string) {
	t.Helper()
	l, _, _, err := setup.LoadDeploy(context.Background(), config, nil, ckpt, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return l.Model, l.Classes
}

// tinyDeploy is the committed tiny train-time checkpoint (custom arch, made
// by upstream mmpretrain) fused on the fly.
func tinyDeploy(t testing.TB) (*model.ImageClassifier, []string) {
	return loadDeploy(t, fixtures.Testdata(t, "demo/mobileone-tiny_demo.py"), fixtures.Testdata(t, "checkpoint/tiny_train.pth"))
}

// writeModel exports m with o into dir and returns the file's path.
func writeModel(t testing.TB, dir, name string, m *model.ImageClassifier, o Options) string {
	t.Helper()
	mp, err := Export(m, o)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := WriteFile(p, mp); err != nil {
		t.Fatal(err)
	}
	return p
}

// needORT returns ONNX Runtime, skipping (or under CI failing) without it.
func needORT(t testing.TB) *ort.Runtime {
	t.Helper()
	rt, err := ort.Find()
	fixtures.NeedTool(t, "Node.js with onnxruntime-node", err)
	return rt
}

// python returns Debian's python3 (the one python3-onnx installs into).
func python() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// checkONNX runs onnx.checker.check_model(full_check=True) (Debian's
// python3-onnx) on every file.
func checkONNX(t testing.TB, files ...string) {
	t.Helper()
	_, err := exec.Command(python(), "-c", "import onnx").CombinedOutput()
	fixtures.NeedTool(t, "python3-onnx", err)
	script := `import sys, onnx
for f in sys.argv[1:]:
    onnx.checker.check_model(onnx.load(f), full_check=True)
print(onnx.__version__)`
	out, err := exec.Command(python(), append([]string{"-c", script}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker.check_model(full_check=True) failed: %v\n%s", err, out)
	}
	t.Logf("onnx %s checker (full_check): %d files ok", strings.TrimSpace(string(out)), len(files))
}

func writeBytes(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
