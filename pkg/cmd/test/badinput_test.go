package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// tinySet copies testdata/test/fmnist (20 Fashion-MNIST PNGs in 10 class
// folders, and meta/val.txt listing them) into a temporary data root.
func tinySet(t *testing.T) string {
	t.Helper()
	src := fixtures.Testdata(t, "test/fmnist")
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func tinyOpts(t *testing.T, config, root string) *Options {
	return &Options{Config: fixtures.Testdata(t, "test/"+config), Checkpoint: fixtures.Testdata(t, "checkpoint/tiny_train.pth"), DataRoot: root, JSON: true}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The same images give the same metrics and predictions in folder mode and
// annotation-file mode, whatever the batch size, workers and forward chunk,
// and the .pkl dump holds what the .json dump holds.
func TestTinyModesAgree(t *testing.T) {
	root := tinySet(t)
	var first []pred
	var firstOut string
	for i, c := range []struct {
		config                string
		batch, workers, chunk int
		out                   string
	}{
		{"tiny_custom.py", 0, 1, 0, "p.pkl"},
		{"tiny_ann.py", 3, 2, 2, "p.json"},
		{"tiny_custom.py", 7, 3, 1, "p.json"},
		{"tiny_ann.py", 20, 1, 0, "p.pkl"},
	} {
		o := tinyOpts(t, c.config, root)
		o.BatchSize, o.Workers, o.chunk = c.batch, c.workers, c.chunk
		o.Out = filepath.Join(t.TempDir(), c.out)
		stdout, stderr, err := runTest(t, o)
		if err != nil {
			t.Fatalf("%+v: %v\n%s", c, err, stderr)
		}
		var preds []pred
		if strings.HasSuffix(c.out, ".pkl") {
			preds = loadPickle(t, o.Out)
		} else {
			data, err := os.ReadFile(o.Out)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &preds); err != nil {
				t.Fatal(err)
			}
		}
		if len(preds) != 20 || preds[19].SampleIdx != 19 || preds[19].GTLabel != 9 || preds[0].NumClasses != 10 || len(preds[0].PredScore) != 10 {
			t.Fatalf("%+v: predictions %+v", c, preds)
		}
		if i == 0 {
			first, firstOut = preds, stdout
			if c.batch == 0 && !strings.Contains(stderr, "Epoch(test) [5/5]") { // tiny_custom.py: batch_size=4
				t.Errorf("config batch size not used:\n%s", stderr)
			}
			continue
		}
		if stdout != firstOut {
			t.Errorf("%+v: stdout %s, want %s", c, stdout, firstOut)
		}
		for j := range preds {
			if !samePred(preds[j], first[j]) {
				t.Errorf("%+v: sample %d: %+v, want %+v", c, j, preds[j], first[j])
				break
			}
		}
	}
	if !strings.HasPrefix(firstOut, `{"accuracy/top1": `) {
		t.Errorf("--json output %q", firstOut)
	}
}

// --out-item metrics writes the metrics dict (format by extension).
func TestOutMetrics(t *testing.T) {
	o := tinyOpts(t, "tiny_custom.py", tinySet(t))
	o.Out, o.OutItem, o.JSON = filepath.Join(t.TempDir(), "sub", "m.json"), "metrics", false
	stdout, stderr, err := runTest(t, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	data, err := os.ReadFile(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(data, &m); err != nil || len(m) != 2 {
		t.Fatalf("%s: %v", data, err)
	}
	if !strings.HasPrefix(stdout, "Epoch(test) [5/5]    accuracy/top1: ") {
		t.Errorf("stdout %q", stdout)
	}
}

// Each kind of bad input stops the run with an error naming the file (and
// line); with --skip-invalid the sample is left out, counted and listed.
func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		name    string
		config  string
		mutate  func(t *testing.T, root string)
		wantErr []string // substrings of the error
		skipped int      // with --skip-invalid; -1: still an error
	}{
		{
			name: "missing image", config: "tiny_ann.py",
			mutate: func(t *testing.T, root string) {
				os.Remove(filepath.Join(root, "val", "3_dress", "va00007.png"))
			},
			wantErr: []string{"va00007.png", "no such file"}, skipped: 1,
		},
		{
			name: "unreadable image", config: "tiny_ann.py",
			mutate: func(t *testing.T, root string) {
				p := filepath.Join(root, "val", "3_dress", "va00007.png")
				os.Remove(p)
				os.Mkdir(p, 0o755) // a directory: reading fails
			},
			wantErr: []string{"va00007.png"}, skipped: 1,
		},
		{
			name: "corrupt image", config: "tiny_custom.py",
			mutate: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, "val", "5_sandal", "broken.png"), "\x89PNG\r\n\x1a\nnot really a png")
				writeFile(t, filepath.Join(root, "val", "8_bag", "text.jpg"), "hello")
			},
			wantErr: []string{"broken.png"}, skipped: 2,
		},
		{
			name: "truncated image", config: "tiny_custom.py",
			mutate: func(t *testing.T, root string) {
				p := filepath.Join(root, "val", "1_trouser", "va00003.png")
				data, _ := os.ReadFile(p)
				writeFile(t, p, string(data[:len(data)/2]))
			},
			wantErr: []string{"va00003.png"}, skipped: 1,
		},
		{
			name: "label out of range", config: "tiny_ann.py",
			mutate: func(t *testing.T, root string) {
				ann := filepath.Join(root, "meta", "val.txt")
				data, _ := os.ReadFile(ann)
				writeFile(t, ann, strings.Replace(string(data), "1_trouser/va00003.png 1", "1_trouser/va00003.png 12", 1))
			},
			wantErr: []string{"val.txt:3", "label 12 out of range [0, 10)"}, skipped: 1,
		},
		{
			name: "malformed annotation lines", config: "tiny_ann.py",
			mutate: func(t *testing.T, root string) {
				ann := filepath.Join(root, "meta", "val.txt")
				data, _ := os.ReadFile(ann)
				s := strings.Replace(string(data), "0_tshirt_top/va00055.png 0", "0_tshirt_top/va00055.png", 1)
				s = strings.Replace(s, "4_coat/", "\n4_coat/", 1) // a blank line before line 9
				s = strings.Replace(s, "9_ankle_boot/va00010.png 9", "9_ankle_boot/va00010.png nine", 1)
				writeFile(t, ann, s)
			},
			wantErr: []string{"val.txt:2", "0_tshirt_top/va00055.png"}, skipped: 3,
		},
		{
			name: "empty split (folders)", config: "tiny_custom.py",
			mutate: func(t *testing.T, root string) {
				for _, d := range []string{"0_tshirt_top", "1_trouser", "2_pullover", "3_dress", "4_coat", "5_sandal", "6_shirt", "7_sneaker", "8_bag", "9_ankle_boot"} {
					os.RemoveAll(filepath.Join(root, "val", d))
					os.Mkdir(filepath.Join(root, "val", d), 0o755)
				}
			},
			wantErr: []string{filepath.Join("val"), "found 0 files"}, skipped: -1,
		},
		{
			name: "empty split (annotation file)", config: "tiny_ann.py",
			mutate: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, "meta", "val.txt"), "\n")
			},
			wantErr: []string{"val.txt", "no samples"}, skipped: -1,
		},
		{
			name: "every annotation line bad", config: "tiny_ann.py",
			mutate: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, "meta", "val.txt"), "a.png x\nb.png\n")
			},
			wantErr: []string{"val.txt:1"}, skipped: -1,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := tinySet(t)
			c.mutate(t, root)
			_, stderr, err := runTest(t, tinyOpts(t, c.config, root))
			if err == nil {
				t.Fatalf("no error\n%s", stderr)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			o := tinyOpts(t, c.config, root)
			o.SkipInvalid, o.JSON = true, false
			stdout, stderr, err := runTest(t, o)
			if c.skipped < 0 {
				if err == nil {
					t.Errorf("--skip-invalid: no error\n%s", stdout)
				}
				return
			}
			if err != nil {
				t.Fatalf("--skip-invalid: %v\n%s", err, stderr)
			}
			total := 20
			switch c.name {
			case "corrupt image":
				total = 22 // two files added
			case "malformed annotation lines":
				total = 21 // a blank line added
			}
			want := fmt.Sprintf("(%d of %d samples skipped as invalid)", c.skipped, total)
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout %q lacks %q", stdout, want)
			}
			if !strings.Contains(stderr, fmt.Sprintf("skipped %d invalid samples:", c.skipped)) || !strings.Contains(stderr, c.wantErr[0]) {
				t.Errorf("stderr does not list the skipped samples:\n%s", stderr)
			}
		})
	}
}

// A checkpoint with another class count than the config's model is an
// error that states both counts, before any image is read.
func TestClassCountMismatch(t *testing.T) {
	o := tinyOpts(t, "tiny_custom.py", tinySet(t))
	o.CfgOptions = []string{"model.head.num_classes=12"}
	o.decode = func(path string) (*imagenet.Image, error) {
		t.Errorf("image %s read before the checkpoint was checked", path)
		return imagenet.DecodeFile(path)
	}
	_, _, err := runTest(t, o)
	if err == nil || !strings.Contains(err.Error(), "has 10 classes") || !strings.Contains(err.Error(), "has 12 (model.head.num_classes)") {
		t.Errorf("err = %v", err)
	}
}

// samePred compares predictions with the scores as float32 (the JSON dump
// writes float32 values, the pickle float64 ones).
func samePred(a, b pred) bool {
	if a.ImgPath != b.ImgPath || a.SampleIdx != b.SampleIdx || a.GTLabel != b.GTLabel || a.PredLabel != b.PredLabel ||
		a.NumClasses != b.NumClasses || len(a.PredScore) != len(b.PredScore) {
		return false
	}
	for i := range a.PredScore {
		if float32(a.PredScore[i]) != float32(b.PredScore[i]) {
			return false
		}
	}
	return true
}

// A config work_dir that is not a string (mmengine's Runner fails on it)
// is an error naming the key, not silently replaced by work_dirs/<config>;
// work_dir=None still means that default.
func TestConfigWorkDir(t *testing.T) {
	cases := []struct {
		value, wantErr string
		o              *Options
	}{
		{"5", "work_dir: want a string, got number", tinyOpts(t, "tiny_custom.py", tinySet(t))},
		{"None", "", tinyOpts(t, "tiny_custom.py", tinySet(t))},
	}
	t.Chdir(t.TempDir()) // the default work_dirs/tiny_custom lands here
	for _, c := range cases {
		o := c.o
		o.CfgOptions = []string{"work_dir=" + c.value}
		o.OutItem = "pred"
		o.IO, _, _, _ = cmdutil.Test()
		err := run(t.Context(), o)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("work_dir=%s: err = %v, want %q", c.value, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("work_dir=%s: %v", c.value, err)
		}
		if _, err := os.Stat(filepath.Join("work_dirs", "tiny_custom")); err != nil {
			t.Errorf("work_dir=%s: %v", c.value, err)
		}
	}
}
