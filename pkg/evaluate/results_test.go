package evaluate

import (
	"reflect"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
)

// --out-item metrics: our pickle of the s0 fixture's metrics reads back as
// upstream's s0_deploy_metrics.pkl does (a plain dict of Python floats).
func TestEncodeMetricsMatchesUpstream(t *testing.T) {
	up, err := checkpoint.LoadPickle(fixtures.Shared(t, "results/s0_deploy_metrics.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeMetrics([]Metric{{Name: "accuracy/top1", Value: 43.33333206176758}, {Name: "accuracy/top5", Value: 63.33333206176758}})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := checkpoint.UnmarshalPickle("ours.pkl", b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ours.Root, up.Root) {
		t.Errorf("ours %#v, upstream %#v", ours.Root, up.Root)
	}
}

// Every kind of metric value round-trips: float, int (support), classwise
// list and the confusion matrix tensor.
func TestEncodeMetricsKinds(t *testing.T) {
	ms := []Metric{{Name: "a", Value: 1.5}, {Name: "s", Value: 30, Int: true}, {Name: "l", List: []float64{1, 2.5}},
		{Name: "c", List: []float64{3, 4}, Int: true}, {Name: "m", Matrix: [][]int64{{1, 2}, {3, 4}}, Int: true}}
	b, err := EncodeMetrics(ms)
	if err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.UnmarshalPickle("m.pkl", b)
	if err != nil {
		t.Fatal(err)
	}
	d := f.Root.(*checkpoint.Dict)
	want := []any{1.5, int64(30), checkpoint.List{1.0, 2.5}, checkpoint.List{int64(3), int64(4)}, checkpoint.NewInt64([]int{2, 2}, []int64{1, 2, 3, 4})}
	for i, m := range ms {
		if got, _ := d.Get(m.Name); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s: %#v, want %#v", m.Name, got, want[i])
		}
	}
}
