package confusionmatrix

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/cmdtest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
)

func runCM(t *testing.T, opts *Options) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	opts.IO = ios
	if opts.Cmap == "" {
		opts.Cmap = "viridis"
	}
	if opts.open == nil {
		opts.open = func(string) error { t.Fatal("--show opened a viewer"); return nil }
	}
	err := run(context.Background(), opts)
	return out.String(), errOut.String(), err
}

func readMatrix(t *testing.T, path string) *checkpoint.Tensor {
	t.Helper()
	f, err := checkpoint.LoadPickle(path)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := f.Root.(*checkpoint.Tensor)
	if !ok || m.DType != checkpoint.Int64 || len(m.Shape) != 2 {
		t.Fatalf("--out holds %v, want a 2-D int64 tensor", f.Root)
	}
	return m
}

// On upstream's results file the matrix is upstream's
// (testdata/evaluate/tools.json, confusion_matrix.py's offline path);
// --out pickles it as mmengine.dump does (upstream's --out file of the same
// matrix compared equal in Python: testdata/evaluate/README.md).
func TestUpstreamMatrix(t *testing.T) {
	pkl := fixtures.Shared(t, "results/s0_deploy_preds.pkl")
	b, err := os.ReadFile(fixtures.Testdata(t, "evaluate/tools.json"))
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		ConfusionMatrix struct {
			Shape []int      `json:"shape"`
			Cells [][3]int64 `json:"cells"`
		} `json:"confusion_matrix"`
	}
	if err := json.Unmarshal(b, &up); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "cm.pkl")
	_, stderr, err := runCM(t, &Options{Config: "mobileone-s0_deploy_8xb32_in1k", Input: pkl,
		DataRoot: fixtures.Shared(t, "imagenet"), Out: out})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	m := readMatrix(t, out)
	if !reflect.DeepEqual(m.Shape, up.ConfusionMatrix.Shape) {
		t.Fatalf("shape %v, upstream %v", m.Shape, up.ConfusionMatrix.Shape)
	}
	var cells [][3]int64
	n := m.Shape[1]
	for i, v := range m.I64 {
		if v != 0 {
			cells = append(cells, [3]int64{int64(i / n), int64(i % n), v})
		}
	}
	if !reflect.DeepEqual(cells, up.ConfusionMatrix.Cells) {
		t.Errorf("non-zero cells %v, upstream %v", cells, up.ConfusionMatrix.Cells)
	}
}

// fmnistResults writes a results pickle of 20 predictions over the 10
// Fashion-MNIST classes of testdata/test (sample i: true i/2, predicted
// (i/2 + i%2) % 10, so half the diagonal).
func fmnistResults(t *testing.T, dir string) string {
	t.Helper()
	var preds []evaluate.Prediction
	for i := range 20 {
		s := make([]float32, 10)
		s[(i/2+i%2)%10] = 0.9
		preds = append(preds, evaluate.Prediction{SampleIdx: i, GTLabel: i / 2, PredLabel: (i/2 + i%2) % 10, PredScore: s, NumClasses: 10})
	}
	b, err := evaluate.EncodeResults(preds)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "preds.pkl")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The picture: upstream's 10x10 inches at 100 dpi, drawn (many colours,
// not one), with the matrix's extreme colours of the colour map present.
func TestPNG(t *testing.T) {
	dir := t.TempDir()
	pkl := fmnistResults(t, dir)
	png1 := filepath.Join(dir, "cm.png")
	stdout, stderr, err := runCM(t, &Options{Config: fixtures.Testdata(t, "test/tiny_custom.py"), Input: pkl,
		DataRoot: fixtures.Testdata(t, "test/fmnist"), ShowPath: png1, IncludeValues: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "The confusion matrix is saved at "+png1+".") {
		t.Errorf("stdout %q", stdout)
	}
	img := fixtures.ReadPNG(t, png1)
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 1000 {
		t.Errorf("size %v, want 1000x1000", b)
	}
	colours := map[[3]uint32]int{}
	for y := 0; y < 1000; y += 2 {
		for x := 0; x < 1000; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}]++
		}
	}
	if len(colours) < 20 {
		t.Errorf("%d distinct colours: not a drawn matrix", len(colours))
	}
	// viridis's ends: the cells of 0 and of the largest count (1)
	if colours[[3]uint32{0x44, 0x01, 0x54}] < 1000 || colours[[3]uint32{0xfd, 0xe7, 0x25}] < 1000 {
		t.Errorf("viridis's end colours missing from the cells")
	}
	// --cmap changes the picture; a bad map is a usage error.
	png2 := filepath.Join(dir, "cm2.png")
	if _, _, err := runCM(t, &Options{Config: fixtures.Testdata(t, "test/tiny_custom.py"), Input: pkl,
		DataRoot: fixtures.Testdata(t, "test/fmnist"), ShowPath: png2, Cmap: "Blues"}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(png1)
	b, _ := os.ReadFile(png2)
	if string(a) == string(b) {
		t.Error("--cmap Blues gave the same picture")
	}
}

// A checkpoint gives the matrix of evaluating it on the test set: the same
// as the matrix of its `test --out` results (tiny model, 20 images).
func TestCheckpointMatchesResults(t *testing.T) {
	dir := t.TempDir()
	cfg := fixtures.Testdata(t, "test/tiny_custom.py")
	data := fixtures.Testdata(t, "test/fmnist")
	out1 := filepath.Join(dir, "a.pkl")
	if _, stderr, err := runCM(t, &Options{Config: cfg, Input: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), DataRoot: data, Out: out1}); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	m := readMatrix(t, out1)
	var sum int64
	for _, v := range m.I64 {
		sum += v
	}
	if !reflect.DeepEqual(m.Shape, []int{10, 10}) || sum != 20 {
		t.Fatalf("matrix %v of %d samples, want 10x10 of 20", m.Shape, sum)
	}
	// The same evaluation through a results file of the same predictions.
	stdout, _, err := runCM(t, &Options{Config: cfg, Input: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), DataRoot: data})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]int64, 10)
	for i := range rows {
		rows[i] = m.I64[i*10 : (i+1)*10]
	}
	if strings.TrimSpace(stdout) != evaluate.TensorRepr(rows) {
		t.Errorf("printed\n%s\nwant\n%s", stdout, evaluate.TensorRepr(rows))
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	pkl := fmnistResults(t, dir)
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Config: fixtures.Testdata(t, "test/tiny_custom.py"), Input: filepath.Join(dir, "none.pkl")}, "none.pkl"},
		{Options{Config: fixtures.Testdata(t, "test/tiny_custom.py"), Input: fixtures.Testdata(t, "checkpoint/tiny_train.pth") + ".pkl"}, "tiny_train.pth.pkl"},
		{Options{Config: "nosuch.py", Input: pkl}, "nosuch.py"},
		{Options{Config: fixtures.Testdata(t, "test/tiny_custom.py"), Input: pkl, Show: true,
			open: func(string) error { return os.ErrNotExist }}, "--show"},
	} {
		_, _, err := runCM(t, &c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opts, err, c.want)
		}
	}
	// Without the data set the classes are indices, with a notice.
	_, stderr, err := runCM(t, &Options{Config: fixtures.Testdata(t, "test/tiny_custom.py"), Input: pkl, DataRoot: filepath.Join(dir, "nodata")})
	if err != nil || !strings.Contains(stderr, "using class indices") {
		t.Errorf("no data set: %v, %q", err, stderr)
	}
}

func TestNewCmdConfusionMatrix(t *testing.T) {
	for _, c := range []struct {
		args    []string
		wantErr string
	}{
		{args: []string{"c.py", "p.pkl", "--show-path", "cm.png", "--include-values", "--cmap", "Blues", "--out", "cm.json"}},
		{args: []string{"c.py", "p.pkl", "--cmap", "jet"}, wantErr: `colour map "jet" is not supported`},
		{args: []string{"c.py", "p.pkl", "--show-path", "cm.jpg"}, wantErr: "written as .png"},
		{args: []string{"c.py", "p.pkl", "--out", "cm.txt"}, wantErr: ".pkl/.pickle or .json"},
		{args: []string{"c.py"}, wantErr: "accepts 2 arg"},
	} {
		var got *Options
		err := cmdtest.Execute(NewCmdConfusionMatrix(cmdtest.Factory(), func(_ context.Context, o *Options) error { got = o; return nil }), c.args...)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%v: err %v, want %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil || got.ShowPath != "cm.png" || !got.IncludeValues || got.Cmap != "Blues" || got.Out != "cm.json" {
			t.Errorf("%v: %+v (%v)", c.args, got, err)
		}
	}
}

// A checkpoint is evaluated on the test set as test lists it
// (setup.TestSet, setup.TestBatchSize): a label beyond the model's classes
// is an error naming the annotation file and line, and a batch size below 1
// is refused, as by test (the checkpoint path once ran on regardless).
func TestCheckpointTestSetChecked(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	val, err := filepath.Abs(fixtures.Testdata(t, "test/fmnist/val"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(val, filepath.Join(dir, "val")); err != nil {
		t.Fatal(err)
	}
	ann := "0_tshirt_top/va00029.png 0\n1_trouser/" + firstFile(t, filepath.Join(val, "1_trouser")) + " 12\n"
	if err := os.WriteFile(filepath.Join(dir, "meta", "val.txt"), []byte(ann), 0o644); err != nil {
		t.Fatal(err)
	}
	ckpt := fixtures.Testdata(t, "checkpoint/tiny_train.pth")
	_, _, err = runCM(t, &Options{Config: fixtures.Testdata(t, "test/tiny_ann.py"), Input: ckpt, DataRoot: dir})
	if err == nil || !strings.Contains(err.Error(), "val.txt:2") || !strings.Contains(err.Error(), "label 12 out of range [0, 10)") {
		t.Errorf("label 12 of a 10-class model: error %v, want one naming val.txt:2 and the label", err)
	}
	_, _, err = runCM(t, &Options{Config: fixtures.Testdata(t, "test/tiny_custom.py"), Input: ckpt,
		DataRoot: fixtures.Testdata(t, "test/fmnist"), CfgOptions: []string{"test_dataloader.batch_size=0"}})
	if err == nil || !strings.Contains(err.Error(), "test_dataloader.batch_size must be at least 1, got 0") {
		t.Errorf("batch_size=0: error %v", err)
	}
}

func firstFile(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil || len(es) == 0 {
		t.Fatalf("%s: %v", dir, err)
	}
	return es[0].Name()
}
