package config

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/configs"
	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// fixtureCases pair configs with the upstream mmengine dumps in
// testdata/configs (see its README).
var fixtureCases = []struct{ load, fixture string }{
	{"mobileone-s0_8xb32_in1k", "s0_train.json"},
	{"mobileone-s0_deploy_8xb32_in1k", "s0_deploy.json"},
	{"mobileone-s1_8xb32_in1k", "s1_train.json"},
	{"mobileone-s1_deploy_8xb32_in1k", "s1_deploy.json"},
	{"configs/mobileone/mobileone-s0_8xb32_in1k.py", "s0_train.json"},
	{"mobileone/deploy/mobileone-s1_deploy_8xb32_in1k.py", "s1_deploy.json"},
}

func mustLoad(t *testing.T, name string) *Config {
	t.Helper()
	c, err := Load(name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	return c
}

// decodeOrdered decodes JSON keeping number spelling (so 7 and 7.0
// differ) and object key order.
func decodeOrdered(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeTok(dec)
	if err != nil {
		t.Fatalf("decoding JSON: %v", err)
	}
	return v
}

type kv struct {
	K string
	V any
}

func decodeTok(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			var out []kv
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeTok(dec)
				if err != nil {
					return nil, err
				}
				out = append(out, kv{k.(string), v})
			}
			_, err := dec.Token()
			return out, err
		case '[':
			out := []any{}
			for dec.More() {
				v, err := decodeTok(dec)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		}
	}
	return tok, nil
}

func loadFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures.Testdata(t, filepath.Join("configs", name)))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// compareJSON compares as ordered trees and reports the first difference;
// it also requires byte equality, since JSON() follows json.dumps exactly.
func compareJSON(t *testing.T, got, want []byte) {
	t.Helper()
	g, w := decodeOrdered(t, got), decodeOrdered(t, want)
	if p := firstDiff("", g, w); p != "" {
		t.Errorf("JSON trees differ: %s", p)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("JSON bytes differ from json.dumps output\n got: %.300s\nwant: %.300s", got, want)
	}
}

func firstDiff(path string, g, w any) string {
	switch wv := w.(type) {
	case []kv:
		gv, ok := g.([]kv)
		if !ok {
			return path + ": got " + short2(g) + ", want object"
		}
		for i := 0; i < len(wv) || i < len(gv); i++ {
			if i >= len(gv) {
				return path + ": missing key " + wv[i].K
			}
			if i >= len(wv) {
				return path + ": extra key " + gv[i].K
			}
			if gv[i].K != wv[i].K {
				return path + ": key #" + itoa(i) + " is " + gv[i].K + ", want " + wv[i].K
			}
			if d := firstDiff(path+"."+wv[i].K, gv[i].V, wv[i].V); d != "" {
				return d
			}
		}
	case []any:
		gv, ok := g.([]any)
		if !ok || len(gv) != len(wv) {
			return path + ": got " + short2(g) + ", want " + short2(w)
		}
		for i := range wv {
			if d := firstDiff(path+"."+itoa(i), gv[i], wv[i]); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(g, w) {
			return path + ": got " + short2(g) + ", want " + short2(w)
		}
	}
	return ""
}

func short2(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		b = append(b[:117], "..."...)
	}
	return string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestUpstreamConfigsMatchFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.load, func(t *testing.T) {
			c := mustLoad(t, tc.load)
			got, err := c.JSON()
			if err != nil {
				t.Fatal(err)
			}
			compareJSON(t, got, loadFixture(t, tc.fixture))
		})
	}
}

func TestTinyUserConfig(t *testing.T) {
	for _, tc := range []struct{ file, fixture string }{
		{"tiny_train.py", "tiny_train.json"},
		{"tiny_train_scoped.py", "tiny_train.json"},
		{"tiny_deploy.py", "tiny_deploy.json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := fixtures.Testdata(t, filepath.Join("configs", tc.file))
			c := mustLoad(t, p)
			if c.Filename != p {
				t.Errorf("Filename = %q, want %q", c.Filename, p)
			}
			src, _ := os.ReadFile(p)
			if c.Text != string(src) {
				t.Errorf("Text is not the file's source")
			}
			got, err := c.JSON()
			if err != nil {
				t.Fatal(err)
			}
			compareJSON(t, got, loadFixture(t, tc.fixture))
		})
	}
}

func TestSpecificValues(t *testing.T) {
	type check struct {
		path string
		want Value
	}
	pipe := "train_dataloader.dataset.pipeline."
	cases := map[string][]check{
		"mobileone-s0_8xb32_in1k": {
			{"model.backbone.arch", "s0"},
			{"model.backbone.out_indices", Tuple{int64(3)}},
			{"model.head.in_channels", int64(1024)},
			{"model.head.topk", Tuple{int64(1), int64(5)}},
			{pipe + "1.scale", int64(224)},
			{"val_dataloader.batch_size", int64(256)},
			{"test_dataloader.batch_size", int64(256)},
			{"train_dataloader.batch_size", int64(32)},
			{"optim_wrapper.paramwise_cfg.norm_decay_mult", 0.0},
			{"param_scheduler.1.eta_min", 1e-6},
			{"custom_hooks.0.momentum", 5e-4},
			{"load_from", nil},
			{"resume", false},
		},
		"mobileone-s1_8xb32_in1k": {
			{pipe + "3.magnitude_level", 0.7000000000000001},
			{pipe + "1.scale", int64(160)},
			{pipe + "3.hparams.pad_val", []Value{int64(104), int64(116), int64(124)}},
			{"bgr_mean", []Value{103.53, 116.28, 123.675}},
			{"train_pipeline_1e.3.magnitude_level", 7 * 0.1 * 0.2 * 0.3},
			{"train_pipeline_37e.3.magnitude_level", int64(7)},
			{"custom_hooks.0.type", "SwitchRecipeHook"},
			{"custom_hooks.0.schedule.0.action_epoch", int64(37)},
			{"custom_hooks.0.schedule.0.pipeline.1.scale", int64(192)},
			{"train_pipeline.1.scale", int64(224)}, // the base's unused key
		},
		"mobileone-s2_8xb32_in1k": {
			{"model.head.in_channels", int64(2048)},
			{pipe + "3.magnitude_level", 2.1},
			{"custom_hooks.0.schedule.0.pipeline.3.magnitude_level", 4.8999999999999995},
			{"custom_hooks.0.schedule.1.pipeline.3.magnitude_level", 7.0},
			{"custom_hooks.0.schedule.1.pipeline.1.scale", int64(224)},
		},
		"mobileone-s3_8xb32_in1k": {
			{"model.backbone.arch", "s3"},
			{pipe + "3.magnitude_level", 2.1},
		},
		"mobileone-s4_deploy_8xb32_in1k": {
			{"model.backbone.arch", "s4"},
			{"model.backbone.deploy", true},
			{pipe + "3.hparams.pad_val", []Value{int64(104), int64(116), int64(124)}},
			{"custom_hooks.1.type", "EMAHook"},
		},
	}
	for name, checks := range cases {
		c := mustLoad(t, name)
		for _, ch := range checks {
			got, ok := c.Get(ch.path)
			if !ok {
				t.Errorf("%s: %s missing", name, ch.path)
				continue
			}
			if !reflect.DeepEqual(got, ch.want) {
				t.Errorf("%s: %s = %#v, want %#v", name, ch.path, got, ch.want)
			}
		}
	}
	// The printed form of the quirky floats, as in the JSON fixtures.
	for v, want := range map[float64]string{
		0.7000000000000001: "0.7000000000000001", 4.8999999999999995: "4.8999999999999995",
		1e-6: "1e-06", 1e-5: "1e-05", 0.0001: "0.0001", 0: "0.0", 7: "7.0", 1e16: "1e+16",
		1e15: "1000000000000000.0", 123.675: "123.675", -2.5e-300: "-2.5e-300",
	} {
		if got := pyFloat(v); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", v, got, want)
		}
	}
}

// TestAllBuiltins loads every embedded config; deploy configs must equal
// their train config except for model.backbone.deploy.
func TestAllBuiltins(t *testing.T) {
	names := BuiltinNames()
	// mmpretrain's ten MobileOne configs are all there (this project's own
	// examples come on top).
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, n := range []string{"0", "1", "2", "3", "4"} {
		for _, name := range []string{"mobileone-s" + n + "_8xb32_in1k", "mobileone-s" + n + "_deploy_8xb32_in1k"} {
			if !have[name] {
				t.Errorf("BuiltinNames() lacks %s: %v", name, names)
			}
		}
	}
	for _, n := range names {
		mustLoad(t, n)
	}
	for _, n := range []string{"0", "1", "2", "3", "4"} {
		train := mustLoad(t, "mobileone-s"+n+"_8xb32_in1k")
		dep := mustLoad(t, "mobileone-s"+n+"_deploy_8xb32_in1k.py")
		if got, _ := dep.Get("model.backbone.deploy"); got != true {
			t.Errorf("s%s deploy: model.backbone.deploy = %v", n, got)
		}
		dd := DeepCopy(dep.Dict).(*Dict)
		b, _ := getPath(dd, "model.backbone")
		b.(*Dict).Delete("deploy")
		tj, _ := train.JSON()
		dj, _ := (&Config{Dict: dd}).JSON()
		if !bytes.Equal(tj, dj) {
			t.Errorf("s%s: deploy config differs from train config beyond backbone.deploy", n)
		}
		if got, _ := train.Get("model.backbone.arch"); got != "s"+n {
			t.Errorf("s%s: arch = %v", n, got)
		}
	}
}

// TestPrettyTextRoundTrip: PrettyText is Python that evaluates back to
// the same config.
func TestPrettyTextRoundTrip(t *testing.T) {
	for _, name := range BuiltinNames() {
		c := mustLoad(t, name)
		text := c.PrettyText()
		c2, err := LoadBytes(filepath.Join(t.TempDir(), "pretty.py"), []byte(text))
		if err != nil {
			t.Fatalf("%s: reloading PrettyText: %v\n%s", name, err, text)
		}
		a, _ := c.JSON()
		b, _ := c2.JSON()
		if !bytes.Equal(a, b) {
			t.Errorf("%s: PrettyText round trip changed the config\n got %.300s\nwant %.300s", name, b, a)
		}
		for _, line := range strings.Split(text, "\n") {
			if len(line) > prettyWidth+10 {
				t.Errorf("%s: long line %q", name, line)
			}
		}
	}
	c := &Config{Dict: NewDict()}
	c.Dict.Set("x", Tuple{int64(3)})
	d := NewDict()
	d.Set("a b", "it's")
	d.Set("k", []Value{nil, true, 1.5})
	c.Dict.Set("y", d)
	want := "x = (3, )\n\ny = {'a b': \"it's\", 'k': [None, True, 1.5]}\n"
	if got := c.PrettyText(); got != want {
		t.Errorf("PrettyText = %q, want %q", got, want)
	}
}

// TestUserConfigInTreeCopy: a user's file placed inside a copy of the
// config tree on disk inherits bases by relative path.
func TestUserConfigInTreeCopy(t *testing.T) {
	dir := t.TempDir()
	err := fs.WalkDir(configs.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(configs.FS, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	user := filepath.Join(dir, "mobileone", "my_s0.py")
	src := `_base_ = [
    '../_base_/models/mobileone/mobileone_s0.py',
    '../_base_/datasets/imagenet_bs32_pil_resize.py',
    '../_base_/schedules/imagenet_bs256_coslr_coswd_300e.py',
    '../_base_/default_runtime.py',
]
optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.))
val_dataloader = dict(batch_size=256)
test_dataloader = dict(batch_size=256)
custom_hooks = [
    dict(type='EMAHook', momentum=5e-4, priority='ABOVE_NORMAL', update_buffers=True)
]
work_dir = '{{ fileDirname }}/work'
`
	if err := os.WriteFile(user, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, user)
	if got, _ := c.Get("work_dir"); got != filepath.ToSlash(filepath.Dir(user))+"/work" {
		t.Errorf("work_dir = %v", got)
	}
	c.Dict.Delete("work_dir")
	got, _ := c.JSON()
	compareJSON(t, got, loadFixture(t, "s0_train.json"))
}

func TestMergeSemantics(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("base.py", `
a = dict(x=1, y=dict(p=1, q=2), z=[1, 2])
b = 'keep'
lst = [dict(t=1), dict(t=2)]
`)
	write("base2.py", "c = (1, 2)\n")
	p := write("child.py", `_base_ = ['./base.py', 'base2.py']
new = 1
a = dict(y=dict(_delete_=True, r=3), z=[9], w=dict(_delete_=True, s=1))
c = 5
val = {{ _base_.a.y.q }}
first = _base_.lst[0].t
_base_.b = 'changed'
_base_['lst'][1]['t'] = 20
`)
	c := mustLoad(t, p)
	got, _ := c.JSON()
	want := `{"a": {"x": 1, "y": {"r": 3}, "z": [9], "w": {"_delete_": true, "s": 1}}, "b": "changed", "lst": [{"t": 1}, {"t": 20}], "c": 5, "new": 1, "val": 2, "first": 1}`
	if string(got) != want {
		t.Errorf("merged:\n got %s\nwant %s", got, want)
	}
}

func TestGetSetDecode(t *testing.T) {
	c := mustLoad(t, "mobileone-s0_8xb32_in1k")
	if err := c.Set("model.backbone.arch", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("train_dataloader.dataset.pipeline.1.scale", int64(192)); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("new.deep.key", 1.5); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]Value{
		"model.backbone.arch": "s1", "train_dataloader.dataset.pipeline.1.scale": int64(192), "new.deep.key": 1.5,
	} {
		if got, _ := c.Get(path); !reflect.DeepEqual(got, want) {
			t.Errorf("Get(%s) = %#v, want %#v", path, got, want)
		}
	}
	for _, bad := range []string{"model.backbone.arch.x", "train_dataloader.dataset.pipeline.9.scale", ""} {
		if err := c.Set(bad, int64(1)); err == nil {
			t.Errorf("Set(%q) succeeded", bad)
		}
	}
	if err := c.Set("x", struct{}{}); err == nil {
		t.Error("Set with a struct value succeeded")
	}
	if _, ok := c.Get("model.nope"); ok {
		t.Error("Get(model.nope) found something")
	}

	type Head struct {
		Type       string `json:"type"`
		NumClasses int    `json:"num_classes"`
		InChannels int    `json:"in_channels"`
		Loss       struct {
			Type string  `json:"type"`
			Val  float64 `json:"label_smooth_val"`
			Mode string  `json:"mode"`
		} `json:"loss"`
		TopK []int `json:"topk"`
	}
	var h Head
	if err := c.Decode("model.head", &h); err != nil {
		t.Fatal(err)
	}
	if h.NumClasses != 1000 || h.InChannels != 1024 || h.Loss.Val != 0.1 || !reflect.DeepEqual(h.TopK, []int{1, 5}) {
		t.Errorf("decoded head = %+v", h)
	}
	var partial struct {
		Type string `json:"type"`
	}
	err := c.Decode("model.head", &partial)
	var ce *Error
	if err == nil || !asError(err, &ce) || !strings.Contains(err.Error(), "num_classes") {
		t.Errorf("Decode with unknown fields: err = %v, want an *Error naming num_classes", err)
	}
	var lenient lenientHead
	if err := c.Decode("model.head", &lenient); err != nil || lenient.Type != "LinearClsHead" {
		t.Errorf("lenient decode: %v, %+v", err, lenient)
	}
	if err := c.Decode("no.such", &lenient); err == nil {
		t.Error("Decode of a missing path succeeded")
	}
}

type lenientHead struct {
	Type string `json:"type"`
}

func (*lenientHead) AllowUnknownFields() bool { return true }
