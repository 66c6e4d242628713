package imagenet

import (
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

func boolPtr(b bool) *bool { return &b }

// writePNG writes a w×h random RGB PNG.
func writePNG(t testing.TB, path string, w, h int, rng *rand.Rand) {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.NRGBA{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), 255})
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
}

func writeText(t testing.TB, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestImageNetAnnotationShared lists the 30-image ImageNet val fixture in
// annotation mode; files and labels must match manifest.dataset.samples.
func TestImageNetAnnotationShared(t *testing.T) {
	root := fixtures.Shared(t, "imagenet")
	var man struct {
		Dataset struct {
			Samples []struct {
				File  string `json:"file"`
				Label int    `json:"label"`
			} `json:"samples"`
		} `json:"dataset"`
	}
	if err := json.Unmarshal(readFile(t, fixtures.Shared(t, "manifest.json")), &man); err != nil {
		t.Fatal(err)
	}
	ds, err := NewDataset(DatasetConfig{Type: "ImageNet", DataRoot: root, Split: "val"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Samples) != 30 || len(man.Dataset.Samples) != 30 {
		t.Fatalf("%d samples (manifest %d), want 30", len(ds.Samples), len(man.Dataset.Samples))
	}
	if ds.AnnFile != filepath.Join(root, "meta", "val.txt") || ds.NumClasses != 1000 || ds.Classes != nil {
		t.Errorf("AnnFile %q NumClasses %d Classes %v", ds.AnnFile, ds.NumClasses, ds.Classes)
	}
	for i, s := range ds.Samples {
		want := man.Dataset.Samples[i]
		if s.Path != filepath.Join(root, "val", want.File) || s.Label != want.Label || s.Index != i {
			t.Errorf("sample %d = %+v, want %s label %d", i, s, want.File, want.Label)
		}
	}
	// classes.txt has the 1000 IMAGENET_CATEGORIES names.
	names, err := ReadClassNames(filepath.Join(root, "meta", "classes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1000 || names[0] != "tench, Tinca tinca" {
		t.Errorf("classes.txt: %d names, first %q", len(names), names[0])
	}
}

// TestFashionMNISTFolderShared lists fashion-mnist-mini/val in folder mode:
// 10 sorted classes, 1000 samples, labels from the folder position.
func TestFashionMNISTFolderShared(t *testing.T) {
	root := fixtures.Shared(t, "../datasets/fashion-mnist-mini")
	ds, err := NewDataset(DatasetConfig{Type: "CustomDataset", DataRoot: root, DataPrefix: "val"})
	if err != nil {
		t.Fatal(err)
	}
	wantClasses := []string{"0_tshirt_top", "1_trouser", "2_pullover", "3_dress", "4_coat", "5_sandal", "6_shirt", "7_sneaker", "8_bag", "9_ankle_boot"}
	if !slices.Equal(ds.Classes, wantClasses) || ds.NumClasses != 10 {
		t.Fatalf("classes %v (%d)", ds.Classes, ds.NumClasses)
	}
	if len(ds.Samples) != 1000 {
		t.Fatalf("%d samples, want 1000", len(ds.Samples))
	}
	for i, s := range ds.Samples {
		dir := filepath.Base(filepath.Dir(s.Path))
		if dir != wantClasses[s.Label] || (i > 0 && s.Path <= ds.Samples[i-1].Path) {
			t.Fatalf("sample %d %+v: not sorted or wrong class", i, s)
		}
	}
	// The ImageNet type insists on 1000 class folders.
	_, err = NewDataset(DatasetConfig{Type: "ImageNet", DataRoot: root, Split: "val"})
	var de *DatasetError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "found 10 class folders") {
		t.Errorf("ImageNet on 10 folders: %v", err)
	}
	// A 28x28 grayscale PNG decodes to 3 equal channels.
	m, err := DecodeFile(ds.Samples[0].Path)
	if err != nil || m.Width != 28 || m.Height != 28 {
		t.Fatalf("decode: %v %v", m, err)
	}
}

// TestFolderMode: recursion, sorting, extension filter (case-insensitive,
// no .tiff/.webp/.txt), empty class folders, labels by folder position.
func TestFolderMode(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"b/z.PNG", "b/sub/a.jpg", "b/a.jpeg", "a/x.ppm", "a/y.tiff", "a/w.webp", "a/n.txt", "a/m.BMP", "c/q.Tif", "c/r.pgm"} {
		writeText(t, filepath.Join(root, "train", f), "x")
	}
	if err := os.MkdirAll(filepath.Join(root, "train", "d_empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeText(t, filepath.Join(root, "train", "stray.png"), "x") // not in a class folder
	ds, err := NewDataset(DatasetConfig{Type: "CustomDataset", DataRoot: root, DataPrefix: "train"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ds.Samples {
		rel, _ := filepath.Rel(filepath.Join(root, "train"), s.Path)
		got = append(got, filepath.ToSlash(rel)+":"+string(rune('0'+s.Label)))
	}
	want := []string{"a/m.BMP:0", "a/x.ppm:0", "b/a.jpeg:1", "b/sub/a.jpg:1", "b/z.PNG:1", "c/q.Tif:2", "c/r.pgm:2"}
	if !slices.Equal(got, want) {
		t.Errorf("samples %v\nwant    %v", got, want)
	}
	if !slices.Equal(ds.Classes, []string{"a", "b", "c", "d_empty"}) || !slices.Equal(ds.EmptyClasses, []string{"d_empty"}) {
		t.Errorf("classes %v empty %v", ds.Classes, ds.EmptyClasses)
	}
	// Explicit classes must match the folder count.
	_, err = NewDataset(DatasetConfig{Type: "CustomDataset", DataRoot: root, DataPrefix: "train", Classes: []string{"x", "y"}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "train")) {
		t.Errorf("2 classes vs 4 folders: %v", err)
	}
	// Without labels: every image below the prefix, sorted.
	ds, err = NewDataset(DatasetConfig{Type: "CustomDataset", DataRoot: root, DataPrefix: "train", WithLabel: boolPtr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Samples) != 8 || ds.Samples[0].Label != -1 || !strings.HasSuffix(ds.Samples[7].Path, "stray.png") {
		t.Errorf("unlabeled: %+v", ds.Samples)
	}
}

// TestAnnotationMode: split on the last space (file names may contain
// spaces), ImageNet split defaults, test split without labels.
func TestAnnotationMode(t *testing.T) {
	root := t.TempDir()
	writeText(t, filepath.Join(root, "meta", "val.txt"), "a b.JPEG 3\n  sub/c.JPEG 999  \nd.JPEG 0\n\n")
	ds, err := NewDataset(DatasetConfig{Type: "ImageNet", DataRoot: root, Split: "val"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{
		{Path: filepath.Join(root, "val", "a b.JPEG"), Label: 3, Index: 0},
		{Path: filepath.Join(root, "val", "sub", "c.JPEG"), Label: 999, Index: 1},
		{Path: filepath.Join(root, "val", "d.JPEG"), Label: 0, Index: 2},
	}
	if !slices.Equal(ds.Samples, want) {
		t.Errorf("samples %+v\nwant %+v", ds.Samples, want)
	}
	// Explicit ann_file and absolute data_prefix.
	abs := filepath.Join(root, "imgs")
	ds, err = NewDataset(DatasetConfig{Type: "CustomDataset", DataRoot: root, AnnFile: "meta/val.txt", DataPrefix: abs})
	if err != nil || ds.Samples[0].Path != filepath.Join(abs, "a b.JPEG") || ds.NumClasses != 0 {
		t.Errorf("custom: %v %+v", err, ds)
	}
	// split="test" has no labels: the whole line is the file name.
	writeText(t, filepath.Join(root, "meta", "test.txt"), "t1.JPEG\nt2.JPEG\n")
	ds, err = NewDataset(DatasetConfig{Type: "ImageNet", DataRoot: root, Split: "test"})
	if err != nil || len(ds.Samples) != 2 || ds.Samples[1].Label != -1 || ds.Samples[1].Path != filepath.Join(root, "test", "t2.JPEG") {
		t.Errorf("test split: %v %+v", err, ds)
	}
}

// TestDatasetErrors: each bad dataset names the file (and line).
func TestDatasetErrors(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		name, ann string
		cfg       DatasetConfig
		want      []string // substrings of the error
	}{
		{"no label", "a.JPEG 1\nb.JPEG\n", DatasetConfig{Type: "ImageNet", Split: "val"}, []string{"val.txt:2", "b.JPEG"}},
		{"bad label", "a.JPEG 1\nb.JPEG x7\n", DatasetConfig{Type: "ImageNet", Split: "val"}, []string{"val.txt:2", "x7"}},
		{"label range", "a.JPEG 1000\n", DatasetConfig{Type: "ImageNet", Split: "val"}, []string{"val.txt:1", "out of range [0, 1000)"}},
		{"label range classes", "a.png 0\nb.png 2\n", DatasetConfig{Type: "CustomDataset", AnnFile: "meta/val.txt", Classes: []string{"p", "q"}}, []string{"val.txt:2", "[0, 2)"}},
		{"negative", "a.png -1\n", DatasetConfig{Type: "CustomDataset", AnnFile: "meta/val.txt"}, []string{"val.txt:1", "negative"}},
		{"blank middle", "a.png 0\n\nb.png 1\n", DatasetConfig{Type: "CustomDataset", AnnFile: "meta/val.txt"}, []string{"val.txt:2", "blank"}},
		{"empty ann", "\n", DatasetConfig{Type: "ImageNet", Split: "val"}, []string{"val.txt", "no samples"}},
		{"missing ann", "", DatasetConfig{Type: "CustomDataset", AnnFile: "meta/nope.txt"}, []string{"nope.txt"}},
		{"empty split", "", DatasetConfig{Type: "CustomDataset", DataPrefix: "emptysplit"}, []string{"emptysplit", "found 0 files"}},
		{"missing split", "", DatasetConfig{Type: "CustomDataset", DataPrefix: "nosuch"}, []string{"nosuch"}},
		{"bad split", "", DatasetConfig{Type: "ImageNet", Split: "holdout"}, []string{"holdout"}},
		{"bad type", "", DatasetConfig{Type: "CIFAR10"}, []string{"CIFAR10"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(root, strings.ReplaceAll(c.name, " ", "_"))
			if c.ann != "" {
				writeText(t, filepath.Join(dir, "meta", "val.txt"), c.ann)
			}
			if err := os.MkdirAll(filepath.Join(dir, "emptysplit", "cls"), 0o755); err != nil {
				t.Fatal(err)
			}
			c.cfg.DataRoot = dir
			_, err := NewDataset(c.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDatasetConfigFromMap(t *testing.T) {
	// test_dataloader.dataset of shared/fixtures/configs/s0_train.json.
	cfg, err := DatasetConfigFromMap(map[string]any{"type": "ImageNet", "data_root": "data/imagenet", "split": "val",
		"pipeline": []any{map[string]any{"type": "LoadImageFromFile"}}})
	if err != nil || cfg.Type != "ImageNet" || cfg.DataRoot != "data/imagenet" || cfg.Split != "val" || cfg.WithLabel != nil {
		t.Fatalf("%+v %v", cfg, err)
	}
	cfg, err = DatasetConfigFromMap(map[string]any{"type": "CustomDataset", "data_root": "r", "ann_file": "meta/val.txt",
		"data_prefix": map[string]any{"img_path": "val"}, "with_label": false, "metainfo": map[string]any{"classes": []any{"a", "b"}}})
	if err != nil || cfg.DataPrefix != "val" || cfg.AnnFile != "meta/val.txt" || *cfg.WithLabel || !slices.Equal(cfg.Classes, []string{"a", "b"}) {
		t.Fatalf("%+v %v", cfg, err)
	}
	if _, err := DatasetConfigFromMap(map[string]any{"type": "ImageNet", "data_rot": "x"}); err == nil || !strings.Contains(err.Error(), "data_rot") {
		t.Errorf("misspelled key: %v", err)
	}
}
