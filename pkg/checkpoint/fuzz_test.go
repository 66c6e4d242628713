package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// FuzzLoadBytes feeds arbitrary bytes to the loader: it must return (never
// panic or hang), every error must be a FormatError or UnsupportedError, and
// whatever loads must re-save and load again. Seeds: the small files of
// testdata/checkpoint and hand-made archives.
func FuzzLoadBytes(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping fuzz seeds in -short mode")
	}
	dir := filepath.Join(fixtures.Root(f), "testdata", "checkpoint")
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		n := e.Name()
		if filepath.Ext(n) != ".pth" && filepath.Ext(n) != ".tar" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 64<<10 {
			f.Add(b)
		}
	}
	if b, err := Marshal(sampleRoot()); err == nil {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("\x80\x02}."))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		file, err := LoadBytes("fuzz", data)
		if err != nil {
			var fe FormatError
			var ue UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("error of unexpected kind: %v", err)
			}
			return
		}
		_ = file.Classes()
		if sd, err := file.StateDict(); err == nil {
			_ = sd.Len()
		}
		root, ok := file.Root.(*Dict)
		if !ok {
			return
		}
		out, err := Marshal(root)
		if err != nil {
			return // e.g. opaque objects cannot be written
		}
		if _, err := LoadBytes("resaved", out); err != nil {
			t.Fatalf("re-saved file does not load: %v", err)
		}
	})
}

// FuzzUnmarshalPickle feeds arbitrary bytes to the results-pickle reader
// (tools/test.py --out files): it must return, with a FormatError or an
// UnsupportedError on failure, and what loads must write and load again.
func FuzzUnmarshalPickle(f *testing.F) {
	if testing.Short() {
		f.Skip("skipping fuzz seeds in -short mode")
	}
	d := NewDict()
	d.Set("gt_label", NewInt64([]int{1}, []int64{3}))
	d.Set("pred_score", NewFloat32([]int{2}, []float32{0.25, 0.75}))
	d.Set("scale_factor", Tuple{1.5, 2.0})
	if b, err := MarshalPickle(List{d}); err == nil {
		f.Add(b)
	}
	f.Add([]byte("\x80\x02]."))
	f.Add(legacyStorage(Int64, make([]byte, 16)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		r, err := UnmarshalPickle("fuzz.pkl", data)
		if err != nil {
			var fe FormatError
			var ue UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("error of unexpected kind: %v", err)
			}
			return
		}
		out, err := MarshalPickle(r.Root)
		if err != nil {
			return // e.g. opaque objects cannot be written
		}
		if _, err := UnmarshalPickle("rewritten.pkl", out); err != nil {
			t.Fatalf("rewritten pickle does not load: %v", err)
		}
	})
}
