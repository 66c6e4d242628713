package evaluate

import (
	"encoding/json"
	"fmt"
	"os"
)

// loadResultsJSON reads the predictions `mobileone test --out FILE.json`
// writes (the JSON of []Prediction), with the checks LoadResults makes on
// a pickle: labels within the scores, num_classes equal to the score
// count.
func loadResultsJSON(path string) ([]Prediction, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: not a JSON list of predictions: %w", path, err)
	}
	preds := make([]Prediction, len(raw))
	for i, r := range raw {
		p := Prediction{SampleIdx: i, GTLabel: -1, PredLabel: -1}
		if err := json.Unmarshal(r, &p); err != nil {
			return nil, fmt.Errorf("%s: sample %d: %w", path, i, err)
		}
		if p.PredScore != nil {
			if p.NumClasses == 0 {
				p.NumClasses = len(p.PredScore)
			}
			if p.NumClasses != len(p.PredScore) {
				return nil, fmt.Errorf("%s: sample %d: num_classes %d but %d scores", path, i, p.NumClasses, len(p.PredScore))
			}
			if p.PredLabel == -1 {
				p.PredLabel = TopK(p.PredScore, 1)[0]
			}
		}
		if p.PredLabel < 0 || p.NumClasses > 0 && (p.PredLabel >= p.NumClasses || p.GTLabel >= p.NumClasses) {
			return nil, fmt.Errorf("%s: sample %d: labels gt %d / pred %d out of range for %d classes", path, i, p.GTLabel, p.PredLabel, p.NumClasses)
		}
		preds[i] = p
	}
	return preds, nil
}
