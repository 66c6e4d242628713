package evaluate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/config"
)

// builders is the metric registry: mmpretrain's METRICS type name to the
// function that decodes its config dict (at path) into a metric.
var builders = map[string]func(c *config.Config, path string) (metric, error){
	"Accuracy":          decodeAccuracy,
	"SingleLabelMetric": decodeSingleLabel,
	"ConfusionMatrix":   decodeConfusion,
}

// upstreamOnly are the other metrics mmpretrain and mmengine register:
// named as not supported rather than unknown.
var upstreamOnly = map[string]bool{
	"MultiLabelMetric": true, "AveragePrecision": true, "MultiTasksMetric": true,
	"VOCMultiLabelMetric": true, "VOCAveragePrecision": true, "RetrievalRecall": true,
	"RetrievalAveragePrecision": true, "ShapeBiasMetric": true, "COCOCaption": true,
	"VQAAcc": true, "ANLS": true, "GQAAcc": true, "ScienceQAMetric": true,
	"VisualGroundingMetric": true, "NocapsSave": true, "DumpResults": true,
}

// MetricTypes lists the supported metric types.
func MetricTypes() []string {
	out := make([]string, 0, len(builders))
	for k := range builders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cfgErr(c *config.Config, format string, args ...any) error {
	return &config.Error{File: c.Filename, Msg: fmt.Sprintf(format, args...)}
}

// FromConfig builds the evaluator of a config's val_evaluator or
// test_evaluator (key), as mmengine's Runner.build_evaluator does: one
// metric dict, a list of them, or dict(type='Evaluator', metrics=[...]).
// Every dict decodes strictly: an unknown key, a bad value or a metric
// type this implementation does not have is an error naming the key and
// the config file.
func FromConfig(c *config.Config, key string) (*Evaluator, error) {
	v, ok := c.Get(key)
	if !ok || v == nil {
		return nil, cfgErr(c, "no %s: mmengine needs one next to the data loader (e.g. %s = dict(type='Accuracy', topk=(1, 5)))", key, key)
	}
	var paths []string
	switch x := v.(type) {
	case *config.Dict:
		if m, ok := x.Get("metrics"); ok {
			for _, k := range x.Keys() {
				if k != "metrics" && k != "type" {
					return nil, cfgErr(c, "%s.%s: not supported: Evaluator argument %q", key, k, k)
				}
			}
			if t, ok := x.Get("type"); ok && t != "Evaluator" {
				return nil, cfgErr(c, "%s.type: not supported: evaluator type %v (only Evaluator)", key, t)
			}
			switch ms := m.(type) {
			case *config.Dict:
				paths = []string{key + ".metrics"}
			case []config.Value:
				for i := range ms {
					paths = append(paths, fmt.Sprintf("%s.metrics.%d", key, i))
				}
			case config.Tuple:
				for i := range ms {
					paths = append(paths, fmt.Sprintf("%s.metrics.%d", key, i))
				}
			default:
				return nil, cfgErr(c, "%s.metrics: want a dict or a list of dicts", key)
			}
		} else {
			paths = []string{key}
		}
	case []config.Value:
		for i := range x {
			paths = append(paths, fmt.Sprintf("%s.%d", key, i))
		}
	case config.Tuple:
		for i := range x {
			paths = append(paths, fmt.Sprintf("%s.%d", key, i))
		}
	default:
		return nil, cfgErr(c, "%s: want a dict or a list of dicts, got %v", key, v)
	}
	if len(paths) == 0 {
		return nil, cfgErr(c, "%s: no metrics", key)
	}
	e := &Evaluator{}
	for _, p := range paths {
		m, err := decodeMetric(c, p)
		if err != nil {
			return nil, err
		}
		e.metrics = append(e.metrics, m)
	}
	return e, nil
}

// FromDicts builds an evaluator from metric dicts that come from
// somewhere else than a config file (eval-metric's --metric options);
// source names them in errors.
func FromDicts(source string, dicts []*config.Dict) (*Evaluator, error) {
	root := config.NewDict()
	list := make([]config.Value, len(dicts))
	for i, d := range dicts {
		list[i] = d
	}
	root.Set("metric", list)
	return FromConfig(&config.Config{Filename: source, Dict: root}, "metric")
}

func decodeMetric(c *config.Config, path string) (metric, error) {
	v, _ := c.Get(path)
	d, ok := v.(*config.Dict)
	if !ok {
		return nil, cfgErr(c, "%s: want a metric dict, got %v", path, v)
	}
	tv, ok := d.Get("type")
	if !ok {
		return nil, cfgErr(c, "%s: no type", path)
	}
	typ, ok := tv.(string)
	if !ok {
		return nil, cfgErr(c, "%s.type: want a string, got %v", path, tv)
	}
	b, ok := builders[strings.TrimPrefix(typ, "mmpretrain.")]
	if !ok {
		if upstreamOnly[strings.TrimPrefix(typ, "mmpretrain.")] {
			return nil, cfgErr(c, "%s.type: not supported: metric %q (supported: %s)", path, typ, strings.Join(MetricTypes(), ", "))
		}
		return nil, cfgErr(c, "%s.type: %q is not a metric of mmpretrain (supported: %s)", path, typ, strings.Join(MetricTypes(), ", "))
	}
	return b(c, path)
}

// common are the BaseMetric arguments every metric takes.
type common struct {
	Type          string  `json:"type"`
	CollectDevice *string `json:"collect_device"`
	Prefix        *string `json:"prefix"`
}

func (m common) check(c *config.Config, path string) (string, error) {
	if m.CollectDevice != nil && *m.CollectDevice != "cpu" && *m.CollectDevice != "gpu" {
		return "", cfgErr(c, "%s.collect_device: want 'cpu' or 'gpu', got %q", path, *m.CollectDevice)
	}
	if m.Prefix != nil {
		return *m.Prefix, nil
	}
	return "", nil
}

// accuracyCfg is Accuracy's config dict.
type accuracyCfg struct {
	common
	Topk json.RawMessage `json:"topk"`
	Thrs json.RawMessage `json:"thrs"`
}

func decodeAccuracy(c *config.Config, path string) (metric, error) {
	var a accuracyCfg
	if err := c.Decode(path, &a); err != nil {
		return nil, err
	}
	prefix, err := a.check(c, path)
	if err != nil {
		return nil, err
	}
	m := &Accuracy{Topk: []int{1}, Thrs: []Threshold{Thr(0)}, Prefix: prefix}
	if len(a.Topk) > 0 {
		if m.Topk, err = intOrInts(a.Topk); err != nil {
			return nil, cfgErr(c, "%s.topk: %v", path, err)
		}
	}
	if m.Thrs, err = thresholds(a.Thrs); err != nil {
		return nil, cfgErr(c, "%s.thrs: %v", path, err)
	}
	return m, nil
}

// singleLabelCfg is SingleLabelMetric's config dict.
type singleLabelCfg struct {
	common
	Thrs       json.RawMessage `json:"thrs"`
	Items      []string        `json:"items"`
	Average    json.RawMessage `json:"average"`
	NumClasses *int            `json:"num_classes"`
}

func decodeSingleLabel(c *config.Config, path string) (metric, error) {
	var s singleLabelCfg
	if err := c.Decode(path, &s); err != nil {
		return nil, err
	}
	prefix, err := s.check(c, path)
	if err != nil {
		return nil, err
	}
	m := NewSingleLabelMetric()
	m.Prefix = prefix
	if m.Thrs, err = thresholds(s.Thrs); err != nil {
		return nil, cfgErr(c, "%s.thrs: %v", path, err)
	}
	if s.Items != nil {
		for _, it := range s.Items {
			if !slices.Contains(singleLabelItems, it) {
				return nil, cfgErr(c, "%s.items: the metric %s is not supported by `SingleLabelMetric`, please specify from \"precision\", \"recall\", \"f1-score\" and \"support\"", path, it)
			}
		}
		m.Items = s.Items
	}
	switch a := strings.TrimSpace(string(s.Average)); a {
	case "":
	case "null":
		m.Average = Classwise
	case `"macro"`, `"micro"`:
		m.Average = Average(strings.Trim(a, `"`))
	default:
		return nil, cfgErr(c, "%s.average: invalid `average` argument %s, please specify from ['micro', 'macro', None]", path, a)
	}
	if m.NumClasses, err = numClasses(c, path, s.NumClasses); err != nil {
		return nil, err
	}
	return m, nil
}

// confusionCfg is ConfusionMatrix's config dict.
type confusionCfg struct {
	common
	NumClasses *int `json:"num_classes"`
}

func decodeConfusion(c *config.Config, path string) (metric, error) {
	var s confusionCfg
	if err := c.Decode(path, &s); err != nil {
		return nil, err
	}
	prefix, err := s.check(c, path)
	if err != nil {
		return nil, err
	}
	m := &ConfusionMatrix{Prefix: prefix}
	if m.NumClasses, err = numClasses(c, path, s.NumClasses); err != nil {
		return nil, err
	}
	return m, nil
}

// numClasses checks an optional num_classes (0 when absent).
func numClasses(c *config.Config, path string, n *int) (int, error) {
	if n == nil {
		return 0, nil
	}
	if *n < 1 {
		return 0, cfgErr(c, "%s.num_classes: want a positive integer, got %d", path, *n)
	}
	return *n, nil
}

// intOrInts reads topk: an int or a sequence of ints, each >= 1.
func intOrInts(raw json.RawMessage) ([]int, error) {
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		raw = json.RawMessage("[" + string(raw) + "]")
	}
	var ks []int
	if err := strictUnmarshal(raw, &ks); err != nil || len(ks) == 0 {
		return nil, fmt.Errorf("want an int or a non-empty sequence of ints, got %s", raw)
	}
	for _, k := range ks {
		if k < 1 {
			return nil, fmt.Errorf("top-%d: k must be at least 1", k)
		}
	}
	return ks, nil
}

// thresholds reads thrs: absent (upstream's default 0.), None, a number or
// a sequence of numbers and Nones. Upstream takes only a float or None
// alone; an int such as thrs=0 is read as the same number.
func thresholds(raw json.RawMessage) ([]Threshold, error) {
	if len(raw) == 0 {
		return []Threshold{Thr(0)}, nil
	}
	var one *float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []Threshold{one}, nil
	}
	var list []*float64
	if err := strictUnmarshal(raw, &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("want a number, None or a non-empty sequence of them, got %s", raw)
	}
	return list, nil
}

func strictUnmarshal(raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}
