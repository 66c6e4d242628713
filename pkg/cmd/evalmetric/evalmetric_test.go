package evalmetric

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/cmdtest"
	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// upstreamTools is testdata/evaluate/tools.json (gen_tools.py): what
// mmpretrain's eval_metric.py printed on upstream's s0_deploy_preds.pkl.
type upstreamTools struct {
	EvalMetric []struct {
		Args   []string `json:"args"`
		Stdout string   `json:"stdout"`
	} `json:"eval_metric"`
	TinyEvalMetric []struct {
		Args   []string `json:"args"`
		Stdout string   `json:"stdout"`
	} `json:"tiny_eval_metric"`
	ConfusionMatrix struct {
		Shape []int      `json:"shape"`
		Cells [][3]int64 `json:"cells"`
	} `json:"confusion_matrix"`
}

func readTools(t *testing.T) upstreamTools {
	t.Helper()
	b, err := os.ReadFile(fixtures.Testdata(t, "evaluate/tools.json"))
	if err != nil {
		t.Fatal(err)
	}
	var up upstreamTools
	if err := json.Unmarshal(b, &up); err != nil {
		t.Fatal(err)
	}
	return up
}

// groups splits eval_metric.py's arguments into the --metric groups.
func groups(args []string) [][]string {
	var out [][]string
	for _, a := range args {
		if a == "--metric" {
			out = append(out, nil)
			continue
		}
		out[len(out)-1] = append(out[len(out)-1], a)
	}
	return out
}

// On upstream's results file, eval-metric prints exactly what upstream's
// eval_metric.py printed, for each metric set.
func TestUpstreamEvalMetric(t *testing.T) {
	pkl := fixtures.Shared(t, "results/s0_deploy_preds.pkl")
	up := readTools(t)
	for _, r := range up.EvalMetric {
		ios, _, out, _ := cmdutil.Test()
		if err := run(&Options{IO: ios, Results: pkl, Metrics: groups(r.Args)}); err != nil {
			t.Fatalf("%v: %v", r.Args, err)
		}
		if out.String() != r.Stdout {
			t.Errorf("%v:\n%s\nupstream printed\n%s", r.Args, out, r.Stdout)
		}
	}
}

// On our own results file (tiny_preds.pkl, written by mobileone test),
// eval-metric prints what upstream's eval_metric.py printed reading it.
func TestUpstreamEvalMetricOnOurPickle(t *testing.T) {
	up := readTools(t)
	if len(up.TinyEvalMetric) == 0 {
		t.Fatal("tools.json has no tiny_eval_metric runs")
	}
	for _, r := range up.TinyEvalMetric {
		ios, _, out, _ := cmdutil.Test()
		if err := run(&Options{IO: ios, Results: fixtures.Testdata(t, "evaluate/tiny_preds.pkl"), Metrics: groups(r.Args)}); err != nil {
			t.Fatalf("%v: %v", r.Args, err)
		}
		if out.String() != r.Stdout {
			t.Errorf("%v:\n%s\nupstream printed\n%s", r.Args, out, r.Stdout)
		}
	}
}

func TestNewCmdEvalMetric(t *testing.T) {
	for _, c := range []struct {
		args    []string
		wantErr string
		want    [][]string
	}{
		{args: []string{"p.pkl", "--metric", "type=Accuracy\x1ftopk=1,5", "--metric", "type=ConfusionMatrix"},
			want: [][]string{{"type=Accuracy", "topk=1,5"}, {"type=ConfusionMatrix"}}},
		{args: []string{"p.pkl"}, wantErr: "at least one --metric"},
		{args: []string{"--metric", "type=Accuracy"}, wantErr: "accepts 1 arg"},
	} {
		var got *Options
		err := cmdtest.Execute(NewCmdEvalMetric(cmdtest.Factory(), func(_ context.Context, o *Options) error { got = o; return nil }), c.args...)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%v: err %v, want %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil || got.Results != "p.pkl" || len(got.Metrics) != len(c.want) || strings.Join(got.Metrics[0], " ") != strings.Join(c.want[0], " ") {
			t.Errorf("%v: %+v (%v)", c.args, got, err)
		}
	}
}

// Bad input: a metrics pickle, an unknown metric, an item without "=".
func TestEvalMetricErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		file    string
		metrics [][]string
		want    string
	}{
		{fixtures.Shared(t, "results/s0_deploy_metrics.pkl"), [][]string{{"type=Accuracy"}}, "not a list of predictions (was it written with --out-item metrics?)"},
		{fixtures.Shared(t, "results/s0_deploy_preds.pkl"), [][]string{{"type=MultiLabelMetric"}}, `not supported: metric "MultiLabelMetric"`},
		{fixtures.Shared(t, "results/s0_deploy_preds.pkl"), [][]string{{"type=Accuracy", "topk"}}, `--metric item "topk" is not KEY=VALUE`},
		{fixtures.Shared(t, "results/s0_deploy_preds.pkl"), [][]string{{"type=Accuracy", "topk=1,5", "k=2"}}, `unknown field "k"`},
		{dir + "/missing.pkl", [][]string{{"type=Accuracy"}}, "missing.pkl"},
	} {
		ios, _, _, _ := cmdutil.Test()
		err := run(&Options{IO: ios, Results: c.file, Metrics: c.metrics})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.metrics, err, c.want)
		}
	}
}
