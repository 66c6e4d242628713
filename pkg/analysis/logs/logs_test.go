package logs

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The fixtures of testdata/analysis: scalars.json from a real mmengine
// Runner (epoch- and iteration-based) and from `mobileone train`, with what
// upstream's analyze_logs.py cal_train_time printed for each
// (testdata/analysis/gen_logs.py).
const fixtures = "../../../testdata/analysis"

func TestCalTrainTimeMatchesUpstream(t *testing.T) {
	for _, name := range []string{"mmengine_epoch", "mmengine_iter", "ours"} {
		for _, outliers := range []bool{false, true} {
			lg, err := Load(filepath.Join(fixtures, name, "scalars.json"))
			if err != nil {
				t.Fatal(err)
			}
			tt, err := lg.CalTrainTime(outliers)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			tt.Print(&got, name+"/scalars.json")
			file := "cal_train_time.txt"
			if outliers {
				file = "cal_train_time_outliers.txt"
			}
			want, err := os.ReadFile(filepath.Join(fixtures, name, file))
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("%s outliers=%v:\n got %q\nwant %q", name, outliers, got.String(), want)
			}
		}
	}
}

func TestSplitAndCurves(t *testing.T) {
	lg, err := Load(filepath.Join(fixtures, "mmengine_epoch", "scalars.json"))
	if err != nil {
		t.Fatal(err)
	}
	// 3 epochs of 10 iterations logged every 2, validation after each epoch
	if len(lg.Train) != 15 || len(lg.Val) != 3 {
		t.Fatalf("train/val records = %d/%d, want 15/3", len(lg.Train), len(lg.Val))
	}
	train, val := lg.Keys()
	if strings.Join(train, ",") != "data_time,iter,loss,lr,time" || strings.Join(val, ",") != "accuracy/top1,data_time,time" {
		t.Errorf("keys = %v / %v", train, val)
	}
	c, err := lg.Curve("loss")
	if err != nil {
		t.Fatal(err)
	}
	// x = step / (last step / last epoch) = step / 10
	if c.XLabel != "Epochs" || len(c.X) != 15 || c.X[0] != 0.2 || c.X[14] != 3 || c.Y[0] != lg.Train[0]["loss"] {
		t.Errorf("loss curve = %+v", c)
	}
	c, err = lg.Curve("accuracy/top1")
	if err != nil {
		t.Fatal(err)
	}
	// the accuracy/top1 values of the fixture's three validation lines
	if c.XLabel != "Steps" || !slices.Equal(c.X, []float64{1, 2, 3}) || !slices.Equal(c.Y, []float64{57.5, 65, 60}) {
		t.Errorf("top1 curve = %+v", c)
	}
	// a key both phases have is the validation one (upstream looks there first)
	if c, _ = lg.Curve("time"); c.XLabel != "Steps" || len(c.X) != 3 {
		t.Errorf("time curve = %+v, want the validation one", c)
	}
	_, err = lg.Curve("accuracy/top5")
	var ke *KeyError
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), "accuracy/top1, data_time, iter, loss, lr, time") {
		t.Errorf("unknown key: %v", err)
	}

	it, err := Load(filepath.Join(fixtures, "mmengine_iter", "scalars.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := it.Curve("loss"); c.XLabel != "Iters" || c.X[0] != 2 || c.X[len(c.X)-1] != 30 {
		t.Errorf("iteration-based loss curve = %+v", c)
	}
}

func TestLoadPythonFloatsAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "scalars.json")
	// json.dumps writes NaN/Infinity bare; a string that merely says NaN
	// inside a key name stays a key name.
	os.WriteFile(p, []byte(`{"lr": 0.1, "loss": NaN, "time": Infinity, "step": 1}`+"\n\n"+
		`{"NaN-ish": -Infinity, "step": 1}`+"\n"), 0o644)
	lg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(lg.Train[0]["loss"]) || !math.IsInf(lg.Train[0]["time"], 1) || !math.IsInf(lg.Val[0]["NaN-ish"], -1) {
		t.Errorf("got %v %v", lg.Train, lg.Val)
	}
	for body, want := range map[string]string{
		`{"lr": 0.1}` + "\n" + `{"lr": "fast"}`: `scalars.json:2: key "lr": value "fast" is not a number`,
		`{"lr": 0.1` + "\n":                     `scalars.json:1: not a JSON object`,
		`[1, 2]`:                                `scalars.json:1: not a JSON object`,
		"\n\n":                                  `scalars.json: no records`,
		`{"lr": 1} {"lr": 2}`:                   `scalars.json:1: more than one JSON value`,
	} {
		os.WriteFile(p, []byte(body), 0o644)
		_, err := Load(p)
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want FormatError containing %q", body, err, want)
		}
	}
}

// TestNpSum checks the summation order against numpy 1.24's
// np.add.reduce of [1/(i+3) for i in range(n)] (values printed with
// float.hex by /usr/bin/python3); plain left-to-right summation differs in
// the last bits for n >= 100.
func TestNpSum(t *testing.T) {
	for n, want := range map[int]string{
		5: "0x1.17c57c57c57c5p+0", 100: "0x1.da81ad52b9b72p+1",
		1000: "0x1.7f32ac6b16780p+2", 20000: "0x1.1f62f1d779199p+3",
	} {
		a := make([]float64, n)
		for i := range a {
			a[i] = 1 / float64(i+3)
		}
		w, _ := strconv.ParseFloat(want, 64)
		if got := npSum(a); got != w {
			t.Errorf("n=%d: npSum = %x, numpy %s", n, got, want)
		}
	}
}

func TestLegendName(t *testing.T) {
	for in, want := range map[string]string{
		"work/20240101/vis_data/scalars.json": "scalars_loss",
		"runs/20240101_000000.log.json":       "20240101_000000_loss",
	} {
		if got := LegendName(in, "loss"); got != want {
			t.Errorf("LegendName(%q) = %q, want %q", in, got, want)
		}
	}
}
