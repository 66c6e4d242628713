package checkpoint

import (
	"encoding/json"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

type flatTensor struct {
	DType  string
	Shape  []int
	Values []json.RawMessage // numbers, or "inf"/"-inf"/"nan"
}

type expectedFile struct {
	Views   map[string]flatTensor
	Objects map[string]flatTensor
	Apple   map[string][]int
}

func expected(t *testing.T) expectedFile {
	var e expectedFile
	readJSON(t, fixtures.Testdata(t, "checkpoint/expected.json"), &e)
	return e
}

// checkFlat compares a decoded tensor with torch's .contiguous() values
// (gen_fixtures.py; float16/bfloat16 were widened to float32 by torch, bool
// to int64), exactly.
func checkFlat(t *testing.T, key string, got *Tensor, want flatTensor) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("%s: shape %v, want %v", key, got.Shape, want.Shape)
		return
	}
	n := got.Numel()
	if len(want.Values) != n {
		t.Fatalf("%s: expected.json has %d values for %d elements", key, len(want.Values), n)
	}
	for i, raw := range want.Values {
		s := strings.Trim(string(raw), `"`)
		if !got.DType.IsFloat() {
			w, err := strconv.ParseInt(s, 10, 64)
			if err != nil || got.I64[i] != w {
				t.Errorf("%s[%d] = %v, want %s", key, i, got.I64[i], s)
			}
			continue
		}
		w, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		g := float64(got.F32[i])
		if got.DType == Float64 {
			g = got.F64[i]
		}
		if g != w {
			t.Errorf("%s[%d] = %v, want %v", key, i, g, w)
		}
	}
}

func TestPythonFixturesViews(t *testing.T) {
	e := expected(t)
	for _, name := range []string{"views_zip.pth", "views_legacy.pth", "proto4.pth", "deflated.pth"} {
		t.Run(name, func(t *testing.T) {
			f, err := Load(fixtures.Testdata(t, "checkpoint/"+name))
			if err != nil {
				t.Fatal(err)
			}
			wantFormat := FormatZip
			if name == "views_legacy.pth" {
				wantFormat = FormatLegacy
			}
			if f.Format != wantFormat {
				t.Errorf("format %s", f.Format)
			}
			sd, err := f.StateDict()
			if err != nil {
				t.Fatal(err)
			}
			if len(sd.Keys) != len(e.Views) {
				t.Errorf("%d keys, want %d", len(sd.Keys), len(e.Views))
			}
			for k, w := range e.Views {
				tn, ok := sd.Tensors[k]
				if !ok {
					t.Errorf("missing %s", k)
					continue
				}
				checkFlat(t, k, tn, w)
			}
			wantDT := map[string]DType{"f16": Float16, "bf16": BFloat16, "f64": Float64, "i64": Int64, "i32": Int32,
				"i16": Int16, "i8": Int8, "u8": Uint8, "bool": Bool, "contig": Float32, "num_batches_tracked": Int64}
			for k, dt := range wantDT {
				if sd.Tensors[k].DType != dt {
					t.Errorf("%s: dtype %s, want %s", k, sd.Tensors[k].DType, dt)
				}
			}
			if got := f.Classes(); !equalStrings(got, []string{"cat", "dog", "ünïcode"}) {
				t.Errorf("classes %q", got)
			}
			meta := f.Meta()
			if v, _ := meta.Get("lr"); v != 0.1 {
				t.Errorf("lr = %v", v)
			}
			if v, _ := meta.Get("neg"); v != int64(-5) {
				t.Errorf("neg = %v", v)
			}
			if v, _ := meta.Get("big"); v.(*big.Int).Cmp(new(big.Int).Lsh(big.NewInt(1), 70)) != 0 {
				t.Errorf("big = %v", v)
			}
			if v, _ := meta.Get(""); v != "empty key" {
				t.Errorf("empty key = %v", v)
			}
			if v, _ := meta.Get("list"); !reflect.DeepEqual(v, List{int64(1), "x", Tuple{}}) {
				t.Errorf("list = %#v", v)
			}
			if metadataVersion(sd, "bn.num_batches_tracked") != 2 {
				t.Error("_metadata not read")
			}
		})
	}
}

func TestPythonFixturesObjects(t *testing.T) {
	e := expected(t)
	for _, name := range []string{"objects_zip.pth", "objects_legacy.pth"} {
		t.Run(name, func(t *testing.T) {
			f, err := Load(fixtures.Testdata(t, "checkpoint/"+name))
			if err != nil {
				t.Fatal(err)
			}
			sd, err := f.StateDict()
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range e.Objects {
				checkFlat(t, k, sd.Tensors[k], w)
			}
			if !sd.Tensors["w"].RequiresGrad || !sd.Tensors["b"].RequiresGrad {
				t.Error("requires_grad lost")
			}
			if got := f.Classes(); !equalStrings(got, []string{"a", "b"}) {
				t.Errorf("CLASSES %q", got)
			}
			meta := f.Meta()
			get := func(k string) any { v, _ := meta.Get(k); return v }
			arr, ok := get("np_array").(*Tensor)
			if !ok || arr.DType != Float32 || !reflect.DeepEqual(arr.F32, []float32{0, 1, 2, 3, 4, 5}) || !slices.Equal(arr.Shape, []int{2, 3}) {
				t.Errorf("np_array = %#v", get("np_array"))
			}
			fa, ok := get("np_fortran").(*Tensor)
			if !ok || !reflect.DeepEqual(fa.I64, []int64{0, 1, 2, 3, 4, 5}) {
				t.Errorf("np_fortran = %#v", get("np_fortran"))
			}
			if get("np_scalar") != 2.5 || get("np_int") != int64(-3) {
				t.Errorf("numpy scalars %v %v", get("np_scalar"), get("np_int"))
			}
			if !reflect.DeepEqual(get("size"), Tuple{int64(2), int64(3)}) {
				t.Errorf("torch.Size = %#v", get("size"))
			}
			if !reflect.DeepEqual(get("bytes"), []byte("\x00\xff\x80abc")) {
				t.Errorf("bytes = %#v", get("bytes"))
			}
			if !reflect.DeepEqual(get("set"), Set{int64(1), int64(2)}) {
				t.Errorf("set = %#v", get("set"))
			}
			for _, k := range []string{"args", "path", "device", "dtype", "layout"} {
				if _, ok := get(k).(*Object); !ok {
					t.Errorf("%s = %#v, want *Object", k, get(k))
				}
			}
			if o := get("dtype").(*Object); o.Module != "torch" || o.Name != "float32" || !o.IsClass {
				t.Errorf("dtype = %+v", o)
			}
			hub := f.Root.(*Dict).Dict("message_hub").Dict("log_scalars")
			hb, _ := hub.Get("train/loss")
			o, ok := hb.(*Object)
			if !ok || o.Name != "HistoryBuffer" {
				t.Fatalf("HistoryBuffer = %#v", hb)
			}
			st, _ := o.State.(*Dict)
			if lh, _ := st.Get("_log_history"); lh == nil || !reflect.DeepEqual(lh.(*Tensor).F64, []float64{1, 2, 3.5}) {
				t.Errorf("HistoryBuffer state %#v", o.State)
			}
		})
	}
}

func TestAppleStateDict(t *testing.T) {
	e := expected(t)
	f, err := Load(fixtures.Testdata(t, "checkpoint/apple_unfused.pth.tar"))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"stage0.rbr_conv.0.conv.weight":            "backbone.stage0.branch_conv_list.0.conv.weight",
		"stage0.rbr_conv.0.bn.weight":              "backbone.stage0.branch_conv_list.0.norm.weight",
		"stage0.rbr_conv.0.bn.num_batches_tracked": "backbone.stage0.branch_conv_list.0.norm.num_batches_tracked",
		"stage0.rbr_scale.conv.weight":             "backbone.stage0.branch_scale.conv.weight",
		"stage0.rbr_scale.bn.running_var":          "backbone.stage0.branch_scale.norm.running_var",
		"stage1.0.rbr_skip.running_mean":           "backbone.stage1.0.branch_norm.running_mean",
		"stage1.1.reparam_conv.bias":               "backbone.stage1.1.branch_reparam.bias",
		"stage4.0.se.reduce.weight":                "backbone.stage4.0.se.conv1.conv.weight",
		"stage4.0.se.expand.bias":                  "backbone.stage4.0.se.conv2.conv.bias",
		"linear.weight":                            "head.fc.weight",
		"linear.bias":                              "head.fc.bias",
	}
	if len(sd.Keys) != len(want) {
		t.Errorf("%d keys", len(sd.Keys))
	}
	for apple, mm := range want {
		tn, ok := sd.Tensors[mm]
		if !ok {
			t.Errorf("%s: %s missing (have %q)", apple, mm, sd.Keys)
			continue
		}
		if !slices.Equal(tn.Shape, e.Apple[apple]) {
			t.Errorf("%s: shape %v, want %v", mm, tn.Shape, e.Apple[apple])
		}
	}
}
