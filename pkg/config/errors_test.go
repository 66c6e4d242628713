package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func asError(err error, target **Error) bool { return errors.As(err, target) }

// TestErrors: bad configs give an *Error naming the file and line.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("b1.py", "a = 1\nb = 2\n")
	write("b2.py", "b = 3\n")
	write("cyc.py", "_base_ = './cyc.py'\nx = 1\n")
	write("scalar.py", "m = 5\n")
	cases := []struct {
		name, src string
		line      int
		file      string // defaults to name
		msg       string
	}{
		{"syntax.py", "a = 1\nb = dict(x=\n", 3, "", "syntax error"},
		{"undefined.py", "a = 1\n\nb = c + 1\n", 3, "", "undefined: c"},
		{"runtime.py", "a = [1]\nb = 2\nc = a[5]\n", 3, "", "index 5 out of range"},
		{"badbase.py", "x = 1\n_base_ = ['./nope.py']\n", 2, "", "bad _base_ path"},
		{"basetype.py", "_base_ = 3\n", 1, "", "_base_ must be a string"},
		{"dup.py", "_base_ = ['./b1.py', './b2.py']\n", 1, "", "Duplicate key is not allowed among bases. Duplicate keys: b"},
		{"cycle.py", "_base_ = './cyc.py'\n", 0, "cyc.py", "_base_ cycle"},
		{"conflict.py", "_base_ = './scalar.py'\nm = dict(x=1)\n", 0, "", "cannot inherit from base"},
		{"import.py", "import os\n", 1, "", `import of module "os" is not supported`},
		{"from.py", "x = 1\nfrom mmengine.config import read_base\n", 2, "", "from-imports"},
		{"nocopy.py", "a = copy.deepcopy([1])\n", 1, "", "undefined: copy"},
		{"badkey.py", "a = 1\nb = {1: 2}\n", 2, "", "config keys must be strings"},
		{"reserved.py", "filename = 'x'\n", 0, "", "filename is reserved"},
		{"attr.py", "_base_ = './b1.py'\nx = _base_.nope\n", 2, "", "has no attribute 'nope'"},
		{"loop.py", "x = 0\nwhile True:\n    x += 1\n", 3, "", "too many steps"},
		{"bigint.py", "x = 1 << 70\n", 1, "", "64 bits"},
		{"selfref.py", "a = []\na.append(a)\n", 1, "", "nested too deeply"},
		{"python.py", "a = 1\nclass A:\n    pass\n", 2, "", "syntax error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := write(tc.name, tc.src)
			_, err := Load(p)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			wantFile := p
			if tc.file != "" {
				wantFile = filepath.Join(dir, tc.file)
			}
			if ce.File != wantFile {
				t.Errorf("File = %q, want %q (err: %v)", ce.File, wantFile, err)
			}
			if ce.Line != tc.line {
				t.Errorf("Line = %d, want %d (err: %v)", ce.Line, tc.line, err)
			}
			if !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("Msg = %q, want it to contain %q", ce.Msg, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "config: "+ce.File) {
				t.Errorf("Error() = %q, want it to start with the file", err.Error())
			}
		})
	}
	// Errors inside a base name the base file.
	write("badinner.py", "a = 1\nb = a.x\n")
	_, err := Load(write("outer.py", "_base_ = './badinner.py'\n"))
	var ce *Error
	if !errors.As(err, &ce) || ce.File != filepath.Join(dir, "badinner.py") || ce.Line != 2 {
		t.Errorf("error in base: %v", err)
	}
	if _, err := Load("no-such-config"); !errors.As(err, &ce) || !strings.Contains(ce.Msg, "mobileone-s0_8xb32_in1k") {
		t.Errorf("unknown name: %v", err)
	}
}

// TestPythonFeatures covers the Python-only syntax the s1-s4 configs use.
func TestPythonFeatures(t *testing.T) {
	src := `import copy  # noqa: E402
import copy, math as m
a = [round(x) for x in [0.5, 1.5, 2.5, -0.5, 103.53, 123.675]]
b = [1, 2, 3][::-1]
c = round(2.675, 2)
d = dict(k=7)
d['k'] *= 0.7
e = copy.deepcopy(d)
e['k'] = 0
f = 7 * 0.1
g = (1, )
h = sum([1, 2, 3])
i = m.floor(2.5)
j = None
def helper():
    return 1
k = helper()
`
	c, err := LoadBytes("features.py", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.JSON()
	want := `{"a": [0, 2, 2, 0, 104, 124], "b": [3, 2, 1], "c": 2.67, "d": {"k": 4.8999999999999995}, "e": {"k": 0}, "f": 0.7000000000000001, "g": [1], "h": 6, "i": 2, "j": null, "k": 1}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
