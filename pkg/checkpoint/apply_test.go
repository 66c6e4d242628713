package checkpoint

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// entriesFor builds zeroed model entries for manifest key specs (int64 keys
// are counters).
func entriesFor(keys []keySpec) []model.Entry {
	out := make([]model.Entry, len(keys))
	for i, k := range keys {
		if k.DType == "int64" {
			out[i] = model.Entry{Key: k.Key, Kind: model.Counter, Count: new(int64)}
			continue
		}
		out[i] = model.Entry{Key: k.Key, Kind: model.Param, Tensor: model.NewTensor(k.Shape...)}
	}
	return out
}

func TestApplyTiny(t *testing.T) {
	m := tinyManifest(t)
	_, sd := loadSD(t, fixtures.Testdata(t, "checkpoint/tiny_train.pth"))
	entries := entriesFor(m.KeysTrain)
	if err := Apply(entries, sd); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		src := sd.Tensors[e.Key]
		if e.Kind == model.Counter {
			if *e.Count != src.I64[0] {
				t.Errorf("%s = %d, want %d", e.Key, *e.Count, src.I64[0])
			}
			continue
		}
		if !reflect.DeepEqual(e.Tensor.Data, src.F32) {
			t.Errorf("%s not copied", e.Key)
		}
	}
	// FromEntries → Save → Load → Apply round trip.
	back := FromEntries(entries)
	root := NewDict()
	root.Set("state_dict", back)
	b, err := Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	f, err := LoadBytes("rt", b)
	if err != nil {
		t.Fatal(err)
	}
	sd2, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sd2.Keys, sd.Keys) {
		t.Fatal("key order changed")
	}
	for _, k := range sd.Keys {
		if !tensorsEqual(sd.Tensors[k], sd2.Tensors[k]) {
			t.Errorf("%s differs after FromEntries round trip", k)
		}
	}
	if v := metadataVersion(sd2, "backbone.stage0.branch_scale.norm.num_batches_tracked"); v != 2 {
		t.Errorf("BN _metadata version %d", v)
	}
}

func TestApplyErrors(t *testing.T) {
	w := model.NewTensor(2, 3)
	before := append([]float32{}, w.Data...)
	entries := []model.Entry{
		{Key: "a.weight", Kind: model.Param, Tensor: w},
		{Key: "a.bias", Kind: model.Param, Tensor: model.NewTensor(2)},
		{Key: "bn.num_batches_tracked", Kind: model.Counter, Count: new(int64)},
		{Key: "c.weight", Kind: model.Param, Tensor: model.NewTensor(4)},
	}
	sd := NewStateDict()
	sd.Add("a.weight", NewFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	sd.Add("c.weight", NewFloat32([]int{5}, make([]float32, 5)))
	sd.Add("extra.weight", NewFloat32([]int{1}, []float32{1}))
	err := Apply(entries, sd)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v", err)
	}
	// num_batches_tracked is not missing: no _metadata, so torch would
	// default it to 0.
	if !reflect.DeepEqual(le.Missing, []string{"a.bias"}) || !reflect.DeepEqual(le.Unexpected, []string{"extra.weight"}) ||
		len(le.Mismatched) != 1 || le.Mismatched[0].Key != "c.weight" || !reflect.DeepEqual(le.Mismatched[0].File, []int{5}) {
		t.Errorf("LoadError = %+v", le)
	}
	for _, s := range []string{`Missing key(s) in state_dict: "a.bias"`, `Unexpected key(s) in state_dict: "extra.weight"`, "size mismatch for c.weight"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q lacks %q", err, s)
		}
	}
	if !reflect.DeepEqual(w.Data, before) {
		t.Error("failed Apply modified the model")
	}
	// With _metadata version 2 the missing counter is an error, as in torch.
	sd.Metadata = NewOrderedDict()
	v := NewDict()
	v.Set("version", int64(2))
	sd.Metadata.Set("bn", v)
	err = Apply(entries, sd)
	if !errors.As(err, &le) || !reflect.DeepEqual(le.Missing, []string{"a.bias", "bn.num_batches_tracked"}) {
		t.Errorf("with _metadata: %v", err)
	}
}

func TestModulePrefixAndEMA(t *testing.T) {
	sd := NewOrderedDict()
	sd.Set("module.a.weight", NewFloat32([]int{1}, []float32{1}))
	ema := NewOrderedDict()
	ema.Set("steps", NewInt64([]int{}, []int64{10}))
	ema.Set("module.a.weight", NewFloat32([]int{1}, []float32{2}))
	root := NewDict()
	root.Set("state_dict", sd)
	root.Set("ema_state_dict", ema)
	b, err := Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	f, err := LoadBytes("ema", b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.StateDict()
	if err != nil || !reflect.DeepEqual(got.Keys, []string{"a.weight"}) {
		t.Errorf("state dict keys %v, %v", got, err)
	}
	e, ok := f.EMAStateDict()
	if !ok || !reflect.DeepEqual(e.Keys, []string{"a.weight"}) || e.Tensors["a.weight"].F32[0] != 2 {
		t.Errorf("EMA = %+v, %v", e, ok)
	}
	if _, ok := (&File{Root: NewDict()}).EMAStateDict(); ok {
		t.Error("EMA found in an empty file")
	}
	// A dict that is neither a state dict nor has one.
	bad := NewDict()
	bad.Set("meta", NewDict())
	if _, err := (&File{Path: "x", Root: bad}).StateDict(); err == nil || !strings.Contains(err.Error(), "no state_dict") {
		t.Errorf("err = %v", err)
	}
}

func TestApplyRealModel(t *testing.T) {
	for _, c := range []struct {
		file   string
		deploy bool
	}{{"checkpoints/s0_train.pth", false}, {"checkpoints/s0_deploy.pth", true}} {
		p := fixtures.Shared(t, c.file)
		m, err := model.New(model.Config{Arch: model.ArchZoo["s0"], NumClasses: 1000, Deploy: c.deploy})
		if err != nil {
			t.Fatal(err)
		}
		_, sd := loadSD(t, p)
		if err := Apply(m.StateDict(), sd); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		// And the other graph's checkpoint is rejected with full lists.
		m2, _ := model.New(model.Config{Arch: model.ArchZoo["s0"], NumClasses: 1000, Deploy: !c.deploy})
		var le *LoadError
		if err := Apply(m2.StateDict(), sd); !errors.As(err, &le) || len(le.Missing) == 0 || len(le.Unexpected) == 0 {
			t.Errorf("%s into the other graph: %v", c.file, err)
		}
	}
}

func TestLoadErrorIsShort(t *testing.T) {
	e := &LoadError{}
	for i := 0; i < 1000; i++ {
		e.Missing = append(e.Missing, fmt.Sprintf("backbone.stage3.%d.branch_conv_list.0.conv.weight", i))
		e.Unexpected = append(e.Unexpected, fmt.Sprintf("other.%d", i))
		e.Mismatched = append(e.Mismatched, ShapeMismatch{Key: fmt.Sprintf("m.%d", i), File: []int{1}, Model: []int{2}})
	}
	msg := e.Error()
	for _, want := range []string{"and 995 more.", "Missing key(s) in state_dict: \"backbone.stage3.0.", "and 995 more size mismatches."} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if len(msg) > 2000 {
		t.Errorf("message is %d bytes long", len(msg))
	}
}
