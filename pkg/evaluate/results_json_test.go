package evaluate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLoadResultsJSON: what test --out FILE.json writes (json.Marshal of
// the predictions) reads back the same; bad files name the file and
// sample.
func TestLoadResultsJSON(t *testing.T) {
	dir := t.TempDir()
	preds := []Prediction{
		{SampleIdx: 0, ImgPath: "a.png", GTLabel: 1, PredLabel: 1, PredScore: []float32{0.25, 0.75}, NumClasses: 2},
		{SampleIdx: 1, ImgPath: "b.png", GTLabel: -1, PredLabel: 0, PredScore: []float32{0.5, 0.5}, NumClasses: 2},
	}
	b, err := json.Marshal(preds)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "preds.json")
	os.WriteFile(p, b, 0o644)
	got, err := LoadResults(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, preds) {
		t.Errorf("got %+v\nwant %+v", got, preds)
	}
	for body, want := range map[string]string{
		`{"a": 1}`: "not a JSON list of predictions",
		`[{"pred_score": [0.5, 0.5], "num_classes": 3}]`:                        "sample 0: num_classes 3 but 2 scores",
		`[{"pred_score": [0.5, 0.5]}, {"pred_label": 4, "pred_score": [1, 0]}]`: "sample 1: labels gt -1 / pred 4 out of range for 2 classes",
		`[{"pred_label": "x"}]`: "sample 0: json: cannot unmarshal",
	} {
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := LoadResults(p); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want it to name the file and say %q", body, err, want)
		}
	}
}
