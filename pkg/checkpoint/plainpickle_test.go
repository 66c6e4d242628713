package checkpoint

import (
	"reflect"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// Upstream's tools/test.py --out file (mmengine.dump of DataSample dicts,
// ../shared/fixtures/results) reads back: 30 dicts with int64 label tensors
// and a float32 score tensor, each a view into its batch's storage.
func TestLoadPickleUpstreamResults(t *testing.T) {
	f, err := LoadPickle(fixtures.Shared(t, "results/s0_deploy_preds.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	list, ok := f.Root.(List)
	if !ok || len(list) != 30 {
		t.Fatalf("root %T of %d, want a list of 30", f.Root, len(list))
	}
	d := list[1].(*Dict)
	keys := []any{"sample_idx", "img_path", "num_classes", "scale_factor", "img_shape", "ori_shape", "gt_label", "pred_label", "pred_score"}
	if !reflect.DeepEqual(d.Keys(), keys) {
		t.Errorf("keys %v", d.Keys())
	}
	gt, _ := d.Get("gt_label")
	if g := gt.(*Tensor); g.DType != Int64 || !reflect.DeepEqual(g.Shape, []int{1}) || g.I64[0] != 271 {
		t.Errorf("gt_label %v %v", g, g.I64)
	}
	ps, _ := d.Get("pred_score")
	if p := ps.(*Tensor); p.DType != Float32 || !reflect.DeepEqual(p.Shape, []int{1000}) {
		t.Errorf("pred_score %v", p)
	}
	m, err := LoadPickle(fixtures.Shared(t, "results/s0_deploy_metrics.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Root.(*Dict).Get("accuracy/top1"); v != 43.33333206176758 {
		t.Errorf("metrics %v", m.Root)
	}
}

// MarshalPickle → LoadPickle keeps values, dtypes and shapes; tensors of
// every writable dtype survive.
func TestPlainPickleRoundTrip(t *testing.T) {
	d := NewDict()
	d.Set("sample_idx", int64(3))
	d.Set("img_path", "a/é.png")
	d.Set("scale_factor", Tuple{1.5, 2.0})
	d.Set("gt_label", NewInt64([]int{1}, []int64{7}))
	d.Set("pred_score", NewFloat32([]int{3}, []float32{0.25, 0.5, 0.25}))
	d.Set("m", NewInt64([]int{2, 2}, []int64{1, 0, 300, 70000}))
	d.Set("h", &Tensor{DType: Float16, Shape: []int{2}, F32: []float32{1, -2}})
	b, err := MarshalPickle(List{d})
	if err != nil {
		t.Fatal(err)
	}
	f, err := UnmarshalPickle("x.pkl", b)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Root.(List)[0].(*Dict)
	if !reflect.DeepEqual(got.Keys(), d.Keys()) {
		t.Fatalf("keys %v", got.Keys())
	}
	for _, it := range d.Items {
		g, _ := got.Get(it.Key)
		if !reflect.DeepEqual(g, it.Value) {
			t.Errorf("%v: %#v, want %#v", it.Key, g, it.Value)
		}
	}
	b2, err := MarshalPickle(f.Root)
	if err != nil || string(b2) != string(b) {
		t.Errorf("write → read → write differs (%v)", err)
	}
}

// Damaged results files are errors naming the file, never panics.
func TestUnmarshalPickleDamaged(t *testing.T) {
	d := NewDict()
	d.Set("pred_score", NewFloat32([]int{4}, []float32{1, 2, 3, 4}))
	b, err := MarshalPickle(List{d})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b); n += 7 {
		if _, err := UnmarshalPickle("cut.pkl", b[:n]); err == nil {
			t.Fatalf("truncated at %d: no error", n)
		}
	}
	for i := 2; i < len(b)-1; i += 5 {
		c := append([]byte(nil), b...)
		c[i] ^= 0x5a
		_, _ = UnmarshalPickle("flip.pkl", c) // must not panic
	}
	if _, err := UnmarshalPickle("zip.pkl", []byte("PK\x03\x04rest")); err == nil {
		t.Error("zip accepted")
	}
}
