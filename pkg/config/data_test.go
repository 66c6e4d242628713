package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataConfigs: a config written as .json or .yaml, as mmengine's
// Config.fromfile reads them, loads to the same dict as the .py form,
// _base_ included (of any of the three kinds).
func TestDataConfigs(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"base.py": "model = dict(type='ImageClassifier', head=dict(num_classes=1000, topk=(1, 5)))\nlr = 0.1\n",
		"a.py":    "_base_ = './base.py'\nmodel = dict(head=dict(num_classes=10))\nflag = True\nnone = None\nsteps = [1, 2.5, 'x']\n",
		"a.json":  `{"_base_": "./base.py", "model": {"head": {"num_classes": 10}}, "flag": true, "none": null, "steps": [1, 2.5, "x"]}`,
		"a.yaml":  "_base_: ./base.py\nmodel:\n  head:\n    num_classes: 10\nflag: true\nnone: null\nsteps: [1, 2.5, x]\n",
		"b.yml":   "_base_: [./a.json]\nlr: 0.01\n",
		"b.py":    "_base_ = ['./a.yaml']\nlr = 0.01\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	js := func(name string) string {
		t.Helper()
		c, err := Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := c.Dict.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := js("a.py")
	if !strings.Contains(want, `"num_classes": 10`) || !strings.Contains(want, `"lr": 0.1`) {
		t.Fatalf("a.py = %s", want)
	}
	for _, name := range []string{"a.json", "a.yaml"} {
		if got := js(name); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	if got, want := js("b.yml"), js("b.py"); got != want {
		t.Errorf("b.yml:\n got %s\nwant %s", got, want)
	}
}

func TestDataConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ text, want string }{
		"list.json":   {`[1, 2]`, "list.json: the file must hold a mapping at the top level, got list"},
		"bad.json":    {`{"a": }`, "bad.json: invalid JSON"},
		"trail.json":  {`{"a": 1} {}`, "trail.json: invalid JSON: data after the top-level value"},
		"bad.yaml":    {"a: [1, 2\n", "bad.yaml: invalid YAML"},
		"base.yaml":   {"_base_: 3\n", "base.yaml: _base_ must be a file name or a list of file names, got int"},
		"nobase.yaml": {"_base_: missing.py\n", `nobase.yaml: bad _base_ path "missing.py"`},
		"txt.yaml":    {"_base_: x.txt\n", `txt.yaml: _base_ file "x.txt": only .py, .json and .yaml configs are supported`},
		"merge.yaml":  {"a: &x {b: 1}\nc:\n  <<: *x\n", "merge.yaml: line 3: YAML merge keys (<<) are not supported"},
		"big.json":    {`{"a": 1e999}`, ""},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(c.text), 0o644)
		_, err := Load(p)
		if c.want == "" {
			continue // must not panic; any answer
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}
