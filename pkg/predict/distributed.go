package predict

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/mobileone-go/mobileone/pkg/dist"
)

// Indexed is a result with the position of its image among all inputs.
type Indexed struct {
	Index  int    `json:"index"`
	Result Result `json:"result"`
}

// Failure is an image that could not be classified.
type Failure struct {
	Index int    `json:"index"`
	Err   string `json:"err"`
}

// Collect brings the results and failures of every rank to rank 0, in
// input order; the other ranks get nil. Each image must have been given
// to one rank only (dist.Sampler without round-up).
func Collect(g dist.Gatherer, results []Indexed, failures []Failure) ([]Indexed, []Failure, error) {
	type part struct {
		Results  []Indexed `json:"results"`
		Failures []Failure `json:"failures"`
	}
	b, err := json.Marshal(part{results, failures})
	if err != nil {
		return nil, nil, err
	}
	parts, err := g.Gather("infer", b)
	if err != nil || parts == nil {
		return nil, nil, err
	}
	var all []Indexed
	var failed []Failure
	for r, data := range parts {
		var p part
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, nil, fmt.Errorf("the results of rank %d: %w", r, err)
		}
		all = append(all, p.Results...)
		failed = append(failed, p.Failures...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Index < all[j].Index })
	sort.Slice(failed, func(i, j int) bool { return failed[i].Index < failed[j].Index })
	return all, failed, nil
}
