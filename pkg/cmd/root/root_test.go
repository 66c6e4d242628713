package root

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpandNargsCfgOptions(t *testing.T) {
	for in, want := range map[string]string{
		"train c.py --cfg-options a=1 b=2 c.d=[1,2]":                                               "train c.py --cfg-options a=1 --cfg-options b=2 --cfg-options c.d=[1,2]",
		"train c.py --cfg-options=a=1 b=2 --seed 3":                                                "train c.py --cfg-options=a=1 --cfg-options b=2 --seed 3",
		"test c.py --cfg-options a=1 ckpt.pth":                                                     "test c.py --cfg-options a=1 ckpt.pth",
		"test c.py ckpt.pth x=1":                                                                   "test c.py ckpt.pth x=1",
		"infer --cfg-options a=1 -- b=2":                                                           "infer --cfg-options a=1 -- b=2",
		"print-config c.py --cfg-options a=1 --json b=2":                                           "print-config c.py --cfg-options a=1 --json b=2",
		"analyze-logs plot-curve a.json b.json --keys loss accuracy/top1 --legend x y --out c.png": "analyze-logs plot-curve a.json b.json --keys loss --keys accuracy/top1 --legend x --legend y --out c.png",
		"analyze-logs plot-curve --keys=loss lr --cfg-options a=1 b":                               "analyze-logs plot-curve --keys=loss --keys lr --cfg-options a=1 b",
		"flops c.py --shape 224 192":                                                               "flops c.py --shape 224 --shape 192",
		"flops --shape 224 c.py":                                                                   "flops --shape 224 c.py",
		"benchmark c.py --shape=160 160 --json":                                                    "benchmark c.py --shape=160 --shape 160 --json",
	} {
		got := ExpandNargs(strings.Fields(in))
		if !reflect.DeepEqual(got, strings.Fields(want)) {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
}

// --resume takes the following argument as its value (argparse
// nargs='?'), only for train and only when it is not a flag.
func TestExpandNargsResume(t *testing.T) {
	for in, want := range map[string]string{
		"train c.py --resume w/epoch_3.pth": "train c.py --resume=w/epoch_3.pth",
		"train --resume w/epoch_3.pth c.py": "train --resume=w/epoch_3.pth c.py",
		"train c.py --resume":               "train c.py --resume",
		"train c.py --resume --seed 1":      "train c.py --resume --seed 1",
		"train c.py --resume=x.pth":         "train c.py --resume=x.pth",
		"train c.py -- --resume x":          "train c.py -- --resume x",
		"test c.py --resume x.pth":          "test c.py --resume x.pth",
	} {
		got := ExpandNargs(strings.Fields(in))
		if !reflect.DeepEqual(got, strings.Fields(want)) {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
}

// Each --metric keeps its KEY=VALUE items together (argparse nargs='+'
// with action='append'), joined by evalmetric.ItemSep.
func TestExpandNargsGrouped(t *testing.T) {
	for in, want := range map[string]string{
		"eval-metric p.pkl --metric type=Accuracy topk=1,5 --metric type=ConfusionMatrix": "eval-metric p.pkl --metric=type=Accuracy|topk=1,5 --metric=type=ConfusionMatrix",
		"eval-metric --metric=type=Accuracy thrs=None p.pkl":                              "eval-metric --metric=type=Accuracy|thrs=None p.pkl",
		"eval-metric p.pkl --metric type=Accuracy -- --metric x=1":                        "eval-metric p.pkl --metric=type=Accuracy -- --metric x=1",
		"eval-metric p.pkl --metric":                                                      "eval-metric p.pkl --metric=",
	} {
		got := ExpandNargs(strings.Fields(in))
		for i := range got {
			got[i] = strings.ReplaceAll(got[i], "\x1f", "|")
		}
		if !reflect.DeepEqual(got, strings.Fields(want)) {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
}
