package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
)

// threeClassCheckpoint writes the tiny 10-class checkpoint cut down to its
// first 3 classes (head rows 0-2): a 3-class model.
func threeClassCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	f, err := checkpoint.Load(fixtures.Testdata(t, "checkpoint/tiny_train.pth"))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	w, b := sd.Tensors["head.fc.weight"], sd.Tensors["head.fc.bias"]
	in := w.Shape[1]
	sd.Add("head.fc.weight", checkpoint.NewFloat32([]int{3, in}, w.F32[:3*in]))
	sd.Add("head.fc.bias", checkpoint.NewFloat32([]int{3}, b.F32[:3]))
	root := checkpoint.NewDict()
	root.Set("state_dict", sd.Dict())
	p := filepath.Join(dir, "three.pth")
	if err := checkpoint.Save(p, root); err != nil {
		t.Fatal(err)
	}
	return p
}

// threeClassData copies the first 3 class folders of testdata/test/fmnist.
func threeClassData(t *testing.T, dir string) string {
	t.Helper()
	src := fixtures.Testdata(t, "test/fmnist/val")
	classes, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range classes[:3] {
		files, err := os.ReadDir(filepath.Join(src, c.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "val", c.Name()), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(src, c.Name(), f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "val", c.Name(), f.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// Issue 10's done-when: a 3-class data set and model with
// test_evaluator = [Accuracy(topk=(1,)), SingleLabelMetric(macro),
// SingleLabelMetric(micro, precision+recall)] prints mmpretrain's names,
// no top-5, and the values that the same evaluators give on the dumped
// predictions.
func TestThreeClassEvaluators(t *testing.T) {
	dir := t.TempDir()
	ckpt := threeClassCheckpoint(t, dir)
	data := threeClassData(t, filepath.Join(dir, "data"))
	cfg := filepath.Join(dir, "three.py")
	src := fmt.Sprintf(`_base_ = [%q]
model = dict(head=dict(num_classes=3))
data_preprocessor = dict(num_classes=3)
test_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', average='macro'),
    dict(type='SingleLabelMetric', average='micro', items=('precision', 'recall')),
]
`, fixtures.Testdata(t, "test/tiny_custom.py"))
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "preds.json")
	stdout, stderr, err := runTest(t, &Options{Config: cfg, Checkpoint: ckpt, DataRoot: data, Out: out})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	names := regexp.MustCompile(`([a-z0-9/_-]+): `).FindAllStringSubmatch(stdout, -1)
	var got []string
	for _, n := range names {
		got = append(got, n[1])
	}
	want := "accuracy/top1 single-label/precision single-label/recall single-label/f1-score single-label/precision_micro single-label/recall_micro data_time time"
	if strings.Join(got, " ") != want {
		t.Fatalf("names %v, want %s\n%s", got, want, stdout)
	}
	// The same evaluators on the dumped scores give the printed values.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var preds []pred
	if err := json.Unmarshal(b, &preds); err != nil {
		t.Fatal(err)
	}
	if len(preds) != 6 {
		t.Fatalf("%d predictions, want 6", len(preds))
	}
	ev, err := evaluate.New(evaluate.NewAccuracy(1), evaluate.NewSingleLabelMetric(),
		&evaluate.SingleLabelMetric{Thrs: []evaluate.Threshold{evaluate.Thr(0)}, Items: []string{"precision", "recall"}, Average: evaluate.Micro})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range preds {
		s := make([]float32, len(p.PredScore))
		for i, v := range p.PredScore {
			s[i] = float32(v)
		}
		if err := ev.ProcessSample(&evaluate.Sample{GTLabel: p.GTLabel, PredScore: s}); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := ev.Compute()
	if err != nil {
		t.Fatal(err)
	}
	if line := "Epoch(test) [2/2]    " + evaluate.FormatLog(ms) + "  data_time: "; !strings.HasPrefix(stdout, line) {
		t.Errorf("stdout\n%s\nwant it to start with\n%s", stdout, line)
	}
}

// testdata/evaluate/tiny_preds.pkl (read by upstream's eval_metric.py in
// tools.json) is what test --out writes for the tiny model on the 20
// bundled images: the same samples, labels and keys, scores within 1e-5.
func TestTinyPredsFixture(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny.pkl")
	if _, stderr, err := runTest(t, &Options{Config: fixtures.Testdata(t, "test/tiny_custom.py"),
		Checkpoint: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), DataRoot: fixtures.Testdata(t, "test/fmnist"), Out: out}); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	got, err := evaluate.LoadResults(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := evaluate.LoadResults(fixtures.Testdata(t, "evaluate/tiny_preds.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, fixture %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if filepath.Base(g.ImgPath) != filepath.Base(w.ImgPath) || g.GTLabel != w.GTLabel || g.PredLabel != w.PredLabel || g.Meta != w.Meta || len(g.PredScore) != len(w.PredScore) {
			t.Fatalf("sample %d: %+v, fixture %+v", i, g, w)
		}
		for j := range w.PredScore {
			if d := g.PredScore[j] - w.PredScore[j]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("sample %d score %d: %v, fixture %v", i, j, g.PredScore[j], w.PredScore[j])
			}
		}
	}
}
