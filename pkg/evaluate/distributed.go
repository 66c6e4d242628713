package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mobileone-go/mobileone/pkg/dist"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// Collect merges the results of a run across processes, as mmengine's
// Evaluator.evaluate does with collect_results(device='cpu'): every rank
// passes the Result of Run (with KeepPredictions) over the indices its
// sampler dealt it; the predictions travel as results pickles (the
// layout of tools/test.py --out) through g; rank 0 puts them back in
// sampler order (dist.Interleave), drops the round-up padding, and
// computes ev's metrics over the whole data set, so that they and the
// predictions are those of a single process. Samples that a rank skipped
// as invalid are left out and listed in Skipped. Rank 0 gets the merged
// Result (its own times and batch count); the other ranks get nil.
func Collect(g dist.Gatherer, sampler dist.Sampler, ev *Evaluator, res *Result) (*Result, error) {
	part, err := EncodeResults(res.Predictions)
	if err != nil {
		return nil, err
	}
	parts, err := g.Gather("results", part)
	if err != nil {
		return nil, err
	}
	skipped := make([]skippedSample, len(res.Skipped))
	for i, s := range res.Skipped {
		skipped[i] = skippedSample{s.Sample.Index, s.Sample.Path, s.Err.Error()}
	}
	b, _ := json.Marshal(skipped)
	skippedParts, err := g.Gather("skipped", b)
	if err != nil || parts == nil {
		return nil, err
	}
	byIndex := map[int]Prediction{}
	bad := map[int]skippedSample{}
	order := make([][]int, len(parts))
	for r := range parts {
		preds, err := DecodeResults(fmt.Sprintf("the results of rank %d", r), parts[r])
		if err != nil {
			return nil, err
		}
		for _, p := range preds {
			byIndex[p.SampleIdx] = p
		}
		var sk []skippedSample
		if err := json.Unmarshal(skippedParts[r], &sk); err != nil {
			return nil, fmt.Errorf("the skipped samples of rank %d: %w", r, err)
		}
		for _, s := range sk {
			bad[s.Index] = s
		}
		s := sampler
		s.Rank = r
		order[r] = s.Indices()
	}
	merged, err := dist.Interleave(order, sampler.N)
	if err != nil {
		return nil, err
	}
	out := *res
	out.Predictions, out.Skipped, out.Metrics = make([]Prediction, 0, len(merged)), nil, nil
	ev.Reset()
	for _, i := range merged {
		if s, ok := bad[i]; ok {
			out.Skipped = append(out.Skipped, imagenet.SampleError{Sample: imagenet.Sample{Index: i, Path: s.Path}, Err: errors.New(s.Err)})
			continue
		}
		p, ok := byIndex[i]
		if !ok {
			return nil, fmt.Errorf("evaluate: no rank delivered a result for sample %d", i)
		}
		out.Predictions = append(out.Predictions, p)
		if p.GTLabel >= 0 {
			if err := ev.ProcessSample(p.Sample()); err != nil {
				return nil, err
			}
		}
	}
	out.Samples = len(out.Predictions)
	if ev.Len() > 0 {
		if out.Metrics, err = ev.Compute(); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

type skippedSample struct {
	Index int    `json:"index"`
	Path  string `json:"path"`
	Err   string `json:"err"`
}
