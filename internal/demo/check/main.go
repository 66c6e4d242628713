// Command check is the last step of `make demo`: it checks what the demo
// printed and wrote.
//
//	check [-min-top1 P -test-log TEST.log] TRAIN.json DEPLOY.json
//
// TRAIN.json and DEPLOY.json are `mobileone infer --json` outputs of the
// train-time and the reparameterized model on the same images, whose file
// names are their class names (testdata/demo/images/9_ankle_boot.png): both
// must predict that class for every image, and agree on the scores within
// 1e-5. TEST.log is the output of `mobileone test`: its accuracy/top1 must
// be at least P.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/predict"
)

func read(path string) ([]predict.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []predict.Result
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

func main() {
	minTop1 := flag.Float64("min-top1", 0, "the least accuracy/top1 (%) the test log must show")
	testLog := flag.String("test-log", "", "the output of `mobileone test`")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: check [-min-top1 P -test-log TEST.log] TRAIN.json DEPLOY.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 || (*testLog == "") != (*minTop1 == 0) {
		flag.Usage()
		os.Exit(2)
	}
	err := run(flag.Arg(0), flag.Arg(1), *testLog, *minTop1)
	if err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(1)
	}
}

func run(trainJSON, deployJSON, testLog string, minTop1 float64) error {
	a, err := read(trainJSON)
	if err != nil {
		return err
	}
	b, err := read(deployJSON)
	if err != nil {
		return err
	}
	if err := compare(a, b); err != nil {
		return err
	}
	if testLog == "" {
		return nil
	}
	top1, err := readTop1(testLog)
	if err != nil {
		return err
	}
	if top1 < minTop1 {
		return fmt.Errorf("%s: accuracy/top1 %.2f%% < %.0f%%", testLog, top1, minTop1)
	}
	fmt.Printf("test accuracy/top1 %.2f%% >= %.0f%%\n", top1, minTop1)
	return nil
}

var top1Re = regexp.MustCompile(`accuracy/top1: ([0-9.]+)`)

func readTop1(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	m := top1Re.FindAllSubmatch(b, -1)
	if m == nil {
		return 0, fmt.Errorf("%s: no accuracy/top1 in the test output", path)
	}
	return strconv.ParseFloat(string(m[len(m)-1][1]), 64)
}

func compare(a, b []predict.Result) error {
	if len(a) != len(b) || len(a) == 0 {
		return fmt.Errorf("%d results vs %d", len(a), len(b))
	}
	fmt.Printf("%-16s %-16s %-16s %-7s %s\n", "image", "train-time", "deploy", "score", "max |score diff| over top-k")
	worst := 0.0
	var wrong []string
	for i := range a {
		if a[i].Image != b[i].Image || a[i].PredLabel != b[i].PredLabel {
			return fmt.Errorf("%s: train predicts %d (%s), deploy %d (%s)", a[i].Image, a[i].PredLabel, a[i].PredClass, b[i].PredLabel, b[i].PredClass)
		}
		d := 0.0
		for k := range a[i].TopK {
			if k < len(b[i].TopK) && a[i].TopK[k].Label == b[i].TopK[k].Label {
				d = math.Max(d, math.Abs(float64(a[i].TopK[k].Score)-float64(b[i].TopK[k].Score)))
			} else {
				d = math.Inf(1)
			}
		}
		worst = math.Max(worst, d)
		name := strings.TrimSuffix(filepath.Base(a[i].Image), filepath.Ext(a[i].Image))
		mark := "ok"
		if b[i].PredClass != name {
			mark = "WRONG"
			wrong = append(wrong, fmt.Sprintf("%s is a %s, predicted %s", a[i].Image, name, b[i].PredClass))
		}
		fmt.Printf("%-16s %-16s %-16s %-7.4f %.3g  %s\n", name, a[i].PredClass, b[i].PredClass, b[i].PredScore, d, mark)
	}
	if worst > 1e-5 {
		return fmt.Errorf("train and deploy scores differ by %g (> 1e-5)", worst)
	}
	fmt.Printf("train-time and reparameterized models agree on all %d images (max score difference %.3g)\n", len(a), worst)
	if wrong != nil {
		return errors.New(strings.Join(wrong, "; "))
	}
	fmt.Printf("all %d images classified as their names say\n", len(a))
	return nil
}
