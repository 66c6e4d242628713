package config

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/configs"
)

// FuzzLoadBytes: no input panics or hangs; whatever loads can be printed,
// and its PrettyText loads back to the same JSON.
func FuzzLoadBytes(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping fuzz target in -short mode")
	}
	_ = fs.WalkDir(configs.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".py") {
			b, _ := fs.ReadFile(configs.FS, p)
			f.Add(string(b))
		}
		return nil
	})
	f.Add("a = {{ _base_.x }}\nb = [round(x) for x in [1.5]]\n")
	f.Add("import copy\nx = copy.deepcopy(dict(a=(1, )))\nx['a'] *= 2\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 1<<14 {
			return
		}
		// Bases resolve inside an empty temp dir, or to the embedded tree.
		c, err := LoadBytes(filepath.Join(dir, "fuzz.py"), []byte(src))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		j, err := c.JSON()
		if err != nil {
			return
		}
		text := c.PrettyText()
		_ = c.MergeOptions([]string{"a.b=1"})
		c2, err := LoadBytes(filepath.Join(dir, "pretty.py"), []byte(text))
		if err != nil {
			t.Fatalf("PrettyText does not load: %v\n%s", err, text)
		}
		j2, _ := c2.JSON()
		if string(j) != string(j2) && !strings.Contains(string(j), "NaN") {
			t.Fatalf("round trip changed the config\n%s\n%s", j, j2)
		}
	})
}

func FuzzParseOptionValue(f *testing.F) {
	for _, s := range []string{"1", "[1,(2,3)]", "'a b'", "1e3", "(,)", "[[[]]]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		_, _ = ParseOptionValue(s)
	})
}
