// Command compare checks that two `mobileone infer --json` outputs (the
// train-time and the reparameterized graph on the same images) agree: the
// same predicted class for every image and scores within 1e-5. It is the
// last step of `make demo`.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

type class struct {
	Label int     `json:"label"`
	Score float64 `json:"score"`
	Class string  `json:"class"`
}

type result struct {
	Image     string  `json:"image"`
	PredLabel int     `json:"pred_label"`
	PredScore float64 `json:"pred_score"`
	PredClass string  `json:"pred_class"`
	TopK      []class `json:"topk"`
}

func read(path string) ([]result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []result
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: compare TRAIN.json DEPLOY.json")
		os.Exit(2)
	}
	a, err := read(os.Args[1])
	if err == nil {
		var b []result
		b, err = read(os.Args[2])
		if err == nil {
			err = compare(a, b)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func compare(a, b []result) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d results vs %d", len(a), len(b))
	}
	fmt.Printf("%-50s %-12s %-12s %s\n", "image", "train", "deploy", "max |score diff| over top-k")
	worst := 0.0
	for i := range a {
		if a[i].Image != b[i].Image || a[i].PredLabel != b[i].PredLabel {
			return fmt.Errorf("%s: train predicts %d (%s), deploy %d (%s)", a[i].Image, a[i].PredLabel, a[i].PredClass, b[i].PredLabel, b[i].PredClass)
		}
		d := 0.0
		for k := range a[i].TopK {
			if k < len(b[i].TopK) && a[i].TopK[k].Label == b[i].TopK[k].Label {
				d = math.Max(d, math.Abs(a[i].TopK[k].Score-b[i].TopK[k].Score))
			} else {
				d = math.Inf(1)
			}
		}
		worst = math.Max(worst, d)
		fmt.Printf("%-50s %-12s %-12s %.3g\n", a[i].Image, a[i].PredClass, b[i].PredClass, d)
	}
	if worst > 1e-5 {
		return fmt.Errorf("train and deploy scores differ by %g (> 1e-5)", worst)
	}
	fmt.Printf("train-time and reparameterized models agree on all %d images (max score difference %.3g)\n", len(a), worst)
	return nil
}
