// Package results does what mmpretrain's tools/analysis_tools/analyze_results.py
// does with a test results file: pick the success and failure samples and
// write them as galleries of annotated images.
package results

import (
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/visual"
)

// Select splits the predictions as analyze_results.py does: all samples
// sorted by their highest score, lowest first (a stable sort: ties keep
// the file's order), then cut into successes (pred_label == gt_label) and
// failures, the first topk of each. So the galleries show the successes
// the model was least sure of and the failures it was least sure of.
// A prediction without scores or without a ground-truth label is an error
// naming its sample.
func Select(preds []evaluate.Prediction, topk int) (success, fail []evaluate.Prediction, err error) {
	if topk < 0 {
		return nil, nil, fmt.Errorf("results: topk %d is negative", topk)
	}
	maxScore := make([]float64, len(preds))
	order := make([]int, len(preds))
	for i, p := range preds {
		if len(p.PredScore) == 0 {
			return nil, nil, fmt.Errorf("results: sample %d has no pred_score", p.SampleIdx)
		}
		if p.GTLabel < 0 {
			return nil, nil, fmt.Errorf("results: sample %d has no gt_label", p.SampleIdx)
		}
		m := math.Inf(-1)
		for _, s := range p.PredScore {
			m = math.Max(m, float64(s))
		}
		maxScore[i], order[i] = m, i
	}
	sort.SliceStable(order, func(a, b int) bool { return maxScore[order[a]] < maxScore[order[b]] })
	for _, i := range order {
		if preds[i].PredLabel == preds[i].GTLabel {
			success = append(success, preds[i])
		} else {
			fail = append(fail, preds[i])
		}
	}
	return success[:min(topk, len(success))], fail[:min(topk, len(fail))], nil
}

// Gallery is where and how WriteGallery draws.
type Gallery struct {
	// Dir is the output folder (--out-dir); a gallery goes to Dir/Name.
	Dir string
	// Samples maps a prediction's sample_idx to its dataset entry (the
	// config's test dataset, as get_data_info(sample_idx)).
	Samples []imagenet.Sample
	// Classes names the labels (dataset.CLASSES); nil leaves names out.
	Classes []string
	// RescaleFactor, when positive, resizes each image by that factor
	// first (mmcv.imrescale: sizes rounded half up).
	RescaleFactor float64
}

// Entry is one record of the gallery's JSON file: the sample's DataSample
// data fields with tensors as lists, as analyze_results.py dumps them
// (its metainfo, sample_idx, is not among them).
type Entry struct {
	PredScore []float32 `json:"pred_score"`
	GTLabel   []int     `json:"gt_label"`
	PredLabel []int     `json:"pred_label"`
}

// WriteGallery writes Dir/name/<image file name>.png for every prediction,
// the image with its ground truth and prediction drawn on it, and
// Dir/name/name.json listing the samples. It returns the image paths
// written. analyze_results.py writes each JSON record once per field of
// the sample (an indentation slip); here each sample has one record.
func (g *Gallery) WriteGallery(name string, preds []evaluate.Prediction) ([]string, error) {
	dir := filepath.Join(g.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	entries := make([]Entry, 0, len(preds))
	for _, p := range preds {
		if p.SampleIdx < 0 || p.SampleIdx >= len(g.Samples) {
			return written, fmt.Errorf("results: sample_idx %d is outside the dataset (%d samples): is it the config the results were made with?", p.SampleIdx, len(g.Samples))
		}
		if p.PredLabel < 0 || p.PredLabel >= len(p.PredScore) || p.GTLabel >= len(p.PredScore) {
			return written, fmt.Errorf("results: sample %d: labels gt %d / pred %d out of range for %d scores", p.SampleIdx, p.GTLabel, p.PredLabel, len(p.PredScore))
		}
		src := g.Samples[p.SampleIdx].Path
		out := filepath.Join(dir, filepath.Base(src)+".png")
		if err := g.draw(src, out, p); err != nil {
			return written, err
		}
		written = append(written, out)
		entries = append(entries, Entry{PredScore: p.PredScore, GTLabel: []int{p.GTLabel}, PredLabel: []int{p.PredLabel}})
	}
	err := atomicfile.Write(filepath.Join(dir, name+".json"), func(w io.Writer) error {
		return json.NewEncoder(w).Encode(entries)
	})
	return written, err
}

func (g *Gallery) label(i int, score float64) visual.Label {
	l := visual.Label{Index: i, Score: score}
	if i >= 0 && i < len(g.Classes) {
		l.Class = g.Classes[i]
	}
	return l
}

func (g *Gallery) draw(src, out string, p evaluate.Prediction) error {
	img, err := imagenet.DecodeFile(src)
	if err != nil {
		return err
	}
	if g.RescaleFactor > 0 {
		if img, err = visual.Rescale(img, g.RescaleFactor); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
	}
	caption := visual.ClsCaption(
		[]visual.Label{g.label(p.GTLabel, 0)},
		[]visual.Label{g.label(p.PredLabel, float64(p.PredScore[p.PredLabel]))}, true)
	pic, err := visual.Annotate(img, caption)
	if err != nil {
		return err
	}
	return atomicfile.Write(out, func(w io.Writer) error { return png.Encode(w, pic) })
}
