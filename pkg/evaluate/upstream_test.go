package evaluate

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/config"
)

// upstreamCase is one case of testdata/evaluate/metrics.json, made by
// gen_metrics.py with upstream mmpretrain's metric classes and mmengine's
// LogProcessor.
type upstreamCase struct {
	Name       string        `json:"name"`
	Classes    int           `json:"classes"`
	Labels     []int         `json:"labels"`
	PredLabels []int         `json:"pred_labels"`
	Evaluator  []any         `json:"evaluator"`
	Log        string        `json:"log"`
	Metrics    []upstreamMet `json:"metrics"`
}

type upstreamMet struct {
	Name   string    `json:"name"`
	Value  *float64  `json:"value"`
	Int    bool      `json:"int"`
	List   []float64 `json:"list"`
	Tensor [][]int64 `json:"tensor"`
	Repr   string    `json:"repr"`
}

type upstreamFile struct {
	Cases     []upstreamCase `json:"cases"`
	Top5Error string         `json:"top5_of_3_error"`
}

func readUpstream(t *testing.T) upstreamFile {
	t.Helper()
	b, err := os.ReadFile(fixtures.Testdata(t, "evaluate/metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f upstreamFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// evaluatorOf builds the case's evaluator through the config decoder, from
// the same dicts upstream built its metrics from.
func evaluatorOf(t *testing.T, c upstreamCase) *Evaluator {
	t.Helper()
	var dicts []*config.Dict
	for _, e := range c.Evaluator {
		dicts = append(dicts, toDict(e.(map[string]any), c.Evaluator))
	}
	ev, err := FromDicts("metrics.json", dicts)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// toDict turns a JSON metric dict back into a config dict in upstream's
// key order (json.dump keeps it; Go maps do not, so keys are sorted, which
// does not change a metric).
func toDict(m map[string]any, _ []any) *config.Dict {
	d := config.NewDict()
	for k, v := range m {
		d.Set(k, toValue(v))
	}
	return d
}

func toValue(v any) config.Value {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && !strings.Contains(fmtJSON(v), ".") {
			return int64(x)
		}
		return x
	case []any:
		out := make(config.Tuple, len(x))
		for i, e := range x {
			out[i] = toValue(e)
		}
		return out
	}
	return v
}

func fmtJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestUpstreamMetrics(t *testing.T) {
	f := readUpstream(t)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ev := evaluatorOf(t, c)
			if c.PredLabels != nil {
				for i, l := range c.Labels {
					if err := ev.ProcessSample(&Sample{GTLabel: l, PredLabel: c.PredLabels[i], NumClasses: c.Classes}); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				scores := fixtures.ReadFloat32(t, fixtures.Testdata(t, "evaluate/"+c.Name+"_scores.f32"))
				if err := ev.Process(scores, c.Classes, c.Labels); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ev.Compute()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.Metrics) {
				t.Fatalf("%d metrics, want %d", len(got), len(c.Metrics))
			}
			for i, w := range c.Metrics {
				g := got[i]
				if g.Name != w.Name {
					t.Errorf("metric %d is %s, want %s", i, g.Name, w.Name)
					continue
				}
				switch {
				case w.Tensor != nil:
					if !reflect.DeepEqual(g.Matrix, w.Tensor) {
						t.Errorf("%s = %v, want %v", g.Name, g.Matrix, w.Tensor)
					}
					if TensorRepr(g.Matrix) != w.Repr {
						t.Errorf("%s repr:\n%s\nwant\n%s", g.Name, TensorRepr(g.Matrix), w.Repr)
					}
				case w.List != nil:
					if !reflect.DeepEqual(g.List, w.List) || g.LogValue() != w.Repr {
						t.Errorf("%s = %v (%s), want %v (%s)", g.Name, g.List, g.LogValue(), w.List, w.Repr)
					}
				default:
					if g.Value != *w.Value || g.Int != w.Int {
						t.Errorf("%s = %v (int %v), want %v (int %v)", g.Name, g.Value, g.Int, *w.Value, w.Int)
					}
				}
			}
			line := "Epoch(test) [4/4]    " + FormatLog(got) + "  data_time: 0.2500  time: 0.5000"
			if line != c.Log {
				t.Errorf("log line:\n%s\nwant\n%s", line, c.Log)
			}
		})
	}
}

// top-5 over 3 classes is upstream's ValueError, word for word.
func TestUpstreamTop5Of3(t *testing.T) {
	f := readUpstream(t)
	ev, _ := New(NewAccuracy(1, 5))
	err := ev.Process([]float32{0.2, 0.3, 0.5}, 3, []int{1})
	if err == nil || !strings.HasSuffix(err.Error(), strings.TrimSuffix(f.Top5Error, ".")) {
		t.Errorf("error %v, want upstream's %q", err, f.Top5Error)
	}
}

// torchSum adds in torch's order: bit-exact sums and means of torch 1.13
// (testdata/evaluate/torch_sum.json, gen_metrics.py) on sizes around the
// 8-lane vectors, the 4-way interleave and the 16-row cascade blocks.
func TestTorchSum(t *testing.T) {
	var want struct {
		Sizes []int     `json:"sizes"`
		Sum   []float64 `json:"sum"`
		Mean  []float64 `json:"mean"`
	}
	b, err := os.ReadFile(fixtures.Testdata(t, "evaluate/torch_sum.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	all := fixtures.ReadFloat32(t, fixtures.Testdata(t, "evaluate/torch_sum.f32"))
	naiveDiffers := 0
	for i, n := range want.Sizes {
		x := all[:n]
		all = all[n:]
		s := torchSum(x)
		if float64(s) != want.Sum[i] {
			t.Errorf("n=%d: sum %v, torch %v", n, s, want.Sum[i])
		}
		if m := s / float32(n); float64(m) != want.Mean[i] {
			t.Errorf("n=%d: mean %v, torch %v", n, m, want.Mean[i])
		}
		var naive float32
		for _, v := range x {
			naive += v
		}
		if float64(naive) != want.Sum[i] {
			naiveDiffers++
		}
	}
	// The order matters: a plain loop misses some of torch's sums.
	if naiveDiffers == 0 {
		t.Error("a sequential sum matches torch everywhere: the fixture does not test the order")
	}
}
