package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// The fixture of testdata/analysis/results/gen_results.py: 40 predictions
// over the val images of testdata/fashion-mnist, and what upstream's
// analyze_results.py wrote for them with --topk 6 --rescale-factor 4.
const (
	fixture = "../../../testdata/analysis/results"
	valRoot = "../../../testdata/fashion-mnist"
)

func load(t *testing.T) ([]evaluate.Prediction, *imagenet.Dataset) {
	t.Helper()
	preds, err := evaluate.LoadResults(filepath.Join(fixture, "preds.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := imagenet.NewDataset(imagenet.DatasetConfig{Type: "CustomDataset", DataRoot: valRoot, DataPrefix: "val"})
	if err != nil {
		t.Fatal(err)
	}
	return preds, ds
}

// upstreamEntries reads one of upstream's JSON lists, whose records come
// three times each (one per DataSample field: the indentation slip of
// save_imgs), and returns each record once.
func upstreamEntries(t *testing.T, name string) []Entry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture, "upstream", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []Entry
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	if len(all)%3 != 0 {
		t.Fatalf("%s.json: %d records, not a multiple of 3", name, len(all))
	}
	var out []Entry
	for i := 0; i < len(all); i += 3 {
		if !reflect.DeepEqual(all[i], all[i+1]) || !reflect.DeepEqual(all[i], all[i+2]) {
			t.Fatalf("%s.json: records %d-%d differ", name, i, i+2)
		}
		out = append(out, all[i])
	}
	return out
}

func TestGalleriesMatchUpstream(t *testing.T) {
	preds, ds := load(t)
	success, fail, err := Select(preds, 6)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	g := &Gallery{Dir: dir, Samples: ds.Samples, Classes: ds.Classes, RescaleFactor: 4}
	for name, sel := range map[string][]evaluate.Prediction{"success": success, "fail": fail} {
		files, err := g.WriteGallery(name, sel)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 6 {
			t.Errorf("%s: %d images, want 6", name, len(files))
		}
		// the same samples in the same order as upstream's JSON list
		b, err := os.ReadFile(filepath.Join(dir, name, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var got []Entry
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if want := upstreamEntries(t, name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s.json:\n got %v\nwant %v", name, got, want)
		}
	}
	// the same file names as upstream's galleries
	var names []string
	for _, sub := range []string{"success", "fail"} {
		es, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			names = append(names, sub+"/"+e.Name())
		}
	}
	want, err := os.ReadFile(filepath.Join(fixture, "upstream", "upstream_files.txt"))
	if err != nil {
		t.Fatal(err)
	}
	wantNames := strings.Fields(string(want))
	sort.Strings(names)
	sort.Strings(wantNames)
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("files:\n got %v\nwant %v", names, wantNames)
	}
	// a picture: the 28x28 image at 4x, with the caption drawn on it
	img := fixtures.ReadPNG(t, filepath.Join(dir, "fail", "va00041.png.png"))
	if b := img.Bounds(); b.Dx() != 112 || b.Dy() != 112 {
		t.Fatalf("size %v, want 112x112", b)
	}
	colours := map[[3]uint32]bool{}
	for y := 0; y < 112; y++ {
		for x := 0; x < 112; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r, g, b}] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("%d colours: the picture looks empty", len(colours))
	}
}

// TestSelectOrder: lowest top score first, ties in file order, success
// and failure split by label, topk cuts each.
func TestSelectOrder(t *testing.T) {
	p := func(idx, gt, pred int, scores ...float32) evaluate.Prediction {
		return evaluate.Prediction{SampleIdx: idx, GTLabel: gt, PredLabel: pred, PredScore: scores}
	}
	preds := []evaluate.Prediction{
		p(0, 0, 0, 0.9, 0.1), p(1, 1, 0, 0.6, 0.4), p(2, 0, 0, 0.5, 0.5),
		p(3, 1, 1, 0.3, 0.7), p(4, 0, 1, 0.2, 0.8), p(5, 1, 1, 0.5, 0.5),
	}
	s, f, err := Select(preds, 2)
	if err != nil {
		t.Fatal(err)
	}
	idx := func(ps []evaluate.Prediction) (out []int) {
		for _, p := range ps {
			out = append(out, p.SampleIdx)
		}
		return out
	}
	if got := idx(s); !reflect.DeepEqual(got, []int{2, 5}) {
		t.Errorf("success = %v, want [2 5]", got)
	}
	if got := idx(f); !reflect.DeepEqual(got, []int{1, 4}) {
		t.Errorf("fail = %v, want [1 4]", got)
	}
	if s, f, _ := Select(preds, 0); len(s)+len(f) != 0 {
		t.Errorf("topk 0 selected %d", len(s)+len(f))
	}
	if _, _, err := Select([]evaluate.Prediction{{SampleIdx: 7, GTLabel: 1, PredLabel: 1}}, 1); err == nil || !strings.Contains(err.Error(), "sample 7 has no pred_score") {
		t.Errorf("labels only: %v", err)
	}
	if _, _, err := Select([]evaluate.Prediction{p(8, -1, 0, 1)}, 1); err == nil || !strings.Contains(err.Error(), "sample 8 has no gt_label") {
		t.Errorf("no gt: %v", err)
	}
}

func TestGalleryErrors(t *testing.T) {
	_, ds := load(t)
	g := &Gallery{Dir: t.TempDir(), Samples: ds.Samples[:3]}
	_, err := g.WriteGallery("fail", []evaluate.Prediction{{SampleIdx: 5, GTLabel: 0, PredLabel: 1, PredScore: []float32{0.4, 0.6}}})
	if err == nil || !strings.Contains(err.Error(), "sample_idx 5 is outside the dataset (3 samples)") {
		t.Errorf("sample out of range: %v", err)
	}
	_, err = g.WriteGallery("fail", []evaluate.Prediction{{SampleIdx: 1, GTLabel: 0, PredLabel: 4, PredScore: []float32{0.4, 0.6}}})
	if err == nil || !strings.Contains(err.Error(), "out of range for 2 scores") {
		t.Errorf("label out of range: %v", err)
	}
}
