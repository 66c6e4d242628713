package config

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestParseOptionValue: mmengine DictAction value parsing (spec 2.2).
func TestParseOptionValue(t *testing.T) {
	for in, want := range map[string]Value{
		"1":               int64(1),
		"-3":              int64(-3),
		"1_000":           int64(1000),
		"0.5":             0.5,
		"1e-3":            1e-3,
		"1.":              1.0,
		".5":              0.5,
		"True":            true,
		"false":           false,
		"TRUE":            true,
		"None":            nil,
		"none":            "none",
		"abc":             "abc",
		"'abc'":           "abc",
		`"a b"`:           "ab",
		"":                "",
		"1,2":             []Value{int64(1), int64(2)},
		"[1,2]":           []Value{int64(1), int64(2)},
		"[ 1, 2 ]":        []Value{int64(1), int64(2)},
		"(1,2)":           Tuple{int64(1), int64(2)},
		"(1)":             Tuple{int64(1)},
		"[]":              []Value{},
		"()":              Tuple{},
		"a,":              []Value{"a"},
		"[1,[2,3],(4,5)]": []Value{int64(1), []Value{int64(2), int64(3)}, Tuple{int64(4), int64(5)}},
		"[(1,2),(3,4)]":   []Value{Tuple{int64(1), int64(2)}, Tuple{int64(3), int64(4)}},
		"['a','b']":       []Value{"a", "b"},
		"[true,None,x]":   []Value{true, nil, "x"},
		"0x10":            "0x10",
	} {
		got, err := ParseOptionValue(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q = %#v, want %#v", in, got, want)
		}
	}
	if v, _ := ParseOptionValue("inf"); v != math.Inf(1) {
		t.Errorf("inf = %v", v)
	}
	if v, _ := ParseOptionValue("nan"); !math.IsNaN(v.(float64)) {
		t.Errorf("nan = %v", v)
	}
	for _, bad := range []string{"[1,2", "(1,[2)]", "99999999999999999999"} {
		if _, err := ParseOptionValue(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMergeOptions(t *testing.T) {
	c := mustLoad(t, "mobileone-s0_8xb32_in1k")
	err := c.MergeOptions([]string{
		"model.backbone.arch=s1",
		"model.head.num_classes=10",
		"train_dataloader.dataset.pipeline.1.scale=192",
		"param_scheduler.1.eta_min=0",
		"model.head.topk=(1,3)",
		"data_preprocessor.mean=[1,2,3]",
		"work_dir=./w",
		"train_cfg.max_epochs=5",
		"train_cfg.max_epochs=7",
		"optim_wrapper=dict",
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]Value{
		"model.backbone.arch":                       "s1",
		"model.head.num_classes":                    int64(10),
		"model.head.in_channels":                    int64(1024),
		"train_dataloader.dataset.pipeline.1.scale": int64(192),
		"train_dataloader.dataset.pipeline.1.type":  "RandomResizedCrop",
		"param_scheduler.1.eta_min":                 int64(0),
		"param_scheduler.1.T_max":                   int64(295),
		"model.head.topk":                           Tuple{int64(1), int64(3)},
		"data_preprocessor.mean":                    []Value{int64(1), int64(2), int64(3)},
		"work_dir":                                  "./w",
		"train_cfg.max_epochs":                      int64(7),
		"optim_wrapper":                             "dict",
	} {
		if got, _ := c.Get(path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	if keys := c.Dict.Keys(); keys[len(keys)-1] != "work_dir" {
		t.Errorf("new key not last: %v", keys)
	}
	for _, bad := range [][]string{
		{"novalue"},
		{"model.backbone.arch.x=1"},
		{"train_dataloader.dataset.pipeline.9.scale=1"},
		{"a=1", "a.b=2"},
		{"x=[1,2"},
	} {
		c := mustLoad(t, "mobileone-s0_8xb32_in1k")
		before, _ := c.JSON()
		err := c.MergeOptions(bad)
		var ce *Error
		if !errors.As(err, &ce) || ce.File != "--cfg-options" {
			t.Errorf("%q: err = %v, want *Error for --cfg-options", bad, err)
		}
		after, _ := c.JSON()
		if string(before) != string(after) {
			t.Errorf("%q: failed MergeOptions changed the config", bad)
		}
	}
}

func TestOptionErrorsNameTheKey(t *testing.T) {
	c := mustLoad(t, "mobileone-s0_8xb32_in1k")
	for _, bad := range []string{"=3", ".a=1", "a..b=1", "a.=1"} {
		if err := c.MergeOptions([]string{bad}); err == nil || !strings.Contains(err.Error(), "--cfg-options") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if err := c.MergeOptions([]string{"model.head.num_classes=abc"}); err != nil {
		t.Fatal(err)
	}
	var n int
	err := c.Decode("model.head.num_classes", &n)
	if err == nil || !strings.Contains(err.Error(), "model.head.num_classes: want an integer") || strings.Contains(err.Error(), "Go struct") {
		t.Errorf("decode error = %v", err)
	}
}
