package evaluate

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// EncodeResults encodes predictions as mmpretrain's tools/test.py --out
// writes them (mmengine's DumpResults: mmengine.dump of the DataSamples'
// to_dict(), a protocol-2 pickle): a list of dicts, each with sample_idx,
// img_path, num_classes, scale_factor (when the pipeline resized),
// img_shape, ori_shape, gt_label (an int64 tensor [1]; absent without
// ground truth), pred_label (int64 [1]) and pred_score (float32 [C]).
// Upstream's key order comes from Python sets and varies between runs;
// this is the order of the results it wrote in
// ../shared/fixtures/results.
func EncodeResults(preds []Prediction) ([]byte, error) {
	list := make(checkpoint.List, len(preds))
	for i, p := range preds {
		d := checkpoint.NewDict()
		d.Set("sample_idx", int64(p.SampleIdx))
		d.Set("img_path", p.ImgPath)
		d.Set("num_classes", int64(p.NumClasses))
		m := p.Meta
		if m.Scaled {
			d.Set("scale_factor", checkpoint.Tuple{m.ScaleFactor[0], m.ScaleFactor[1]})
		}
		if m.ImgShape != [2]int{} {
			d.Set("img_shape", checkpoint.Tuple{int64(m.ImgShape[0]), int64(m.ImgShape[1])})
		}
		if m.OriShape != [2]int{} {
			d.Set("ori_shape", checkpoint.Tuple{int64(m.OriShape[0]), int64(m.OriShape[1])})
		}
		if p.GTLabel >= 0 {
			d.Set("gt_label", checkpoint.NewInt64([]int{1}, []int64{int64(p.GTLabel)}))
		}
		d.Set("pred_label", checkpoint.NewInt64([]int{1}, []int64{int64(p.PredLabel)}))
		if p.PredScore != nil {
			d.Set("pred_score", checkpoint.NewFloat32([]int{len(p.PredScore)}, p.PredScore))
		}
		list[i] = d
	}
	return checkpoint.MarshalPickle(list)
}

// EncodeMetrics encodes metrics as tools/test.py --out-item metrics
// writes what runner.test() returns: a dict of Python floats, ints
// (support), lists (classwise) and int64 tensors (the confusion matrix).
func EncodeMetrics(ms []Metric) ([]byte, error) {
	d := checkpoint.NewDict()
	for _, m := range ms {
		d.Set(m.Name, m.PythonValue())
	}
	return checkpoint.MarshalPickle(d)
}

// PythonValue is the metric as mmengine's Evaluator returns it, in
// pkg/checkpoint's values: float64, int64, a List or an int64 *Tensor.
func (m Metric) PythonValue() any {
	switch {
	case m.Matrix != nil:
		n := len(m.Matrix)
		data := make([]int64, 0, n*n)
		for _, r := range m.Matrix {
			data = append(data, r...)
		}
		return checkpoint.NewInt64([]int{n, n}, data)
	case m.List != nil:
		l := make(checkpoint.List, len(m.List))
		for i, v := range m.List {
			if m.Int {
				l[i] = int64(v)
			} else {
				l[i] = v
			}
		}
		return l
	case m.Int:
		return int64(m.Value)
	}
	return m.Value
}

// Sample returns the prediction as the metrics read it.
func (p *Prediction) Sample() *Sample {
	return &Sample{GTLabel: p.GTLabel, PredScore: p.PredScore, PredLabel: p.PredLabel, NumClasses: p.NumClasses}
}

// LoadResults reads a results file of tools/test.py --out, written by
// mmpretrain or by `mobileone test`: a pickled list of DataSample dicts.
// pred_score, pred_label and gt_label may be tensors or plain numbers;
// a sample without gt_label gets -1, one without pred_score is a
// label-only result. Errors name the file and the sample.
//
// A .json file is read as `mobileone test --out FILE.json` writes it.
func LoadResults(path string) ([]Prediction, error) {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return loadResultsJSON(path)
	}
	f, err := checkpoint.LoadPickle(path)
	if err != nil {
		return nil, err
	}
	return resultsOf(f, path)
}

// DecodeResults is LoadResults for a pickle held in memory; name is what
// errors call it.
func DecodeResults(name string, data []byte) ([]Prediction, error) {
	f, err := checkpoint.UnmarshalPickle(name, data)
	if err != nil {
		return nil, err
	}
	return resultsOf(f, name)
}

func resultsOf(f *checkpoint.ResultsFile, path string) ([]Prediction, error) {
	var err error
	list, ok := f.Root.(checkpoint.List)
	if !ok {
		if _, isDict := f.Root.(*checkpoint.Dict); isDict {
			return nil, fmt.Errorf("%s: a dict, not a list of predictions (was it written with --out-item metrics?)", path)
		}
		return nil, fmt.Errorf("%s: %T, not a list of predictions", path, f.Root)
	}
	preds := make([]Prediction, len(list))
	for i, e := range list {
		d, ok := e.(*checkpoint.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: sample %d is %T, not a dict", path, i, e)
		}
		if preds[i], err = predictionOf(d, i); err != nil {
			return nil, fmt.Errorf("%s: sample %d: %w", path, i, err)
		}
	}
	return preds, nil
}

func predictionOf(d *checkpoint.Dict, i int) (Prediction, error) {
	p := Prediction{SampleIdx: i, GTLabel: -1}
	var err error
	if v, ok := d.Get("sample_idx"); ok {
		if p.SampleIdx, err = intOf(v, "sample_idx"); err != nil {
			return p, err
		}
	}
	if v, ok := d.Get("img_path"); ok {
		s, ok := v.(string)
		if !ok {
			return p, fmt.Errorf("img_path is %T, not a string", v)
		}
		p.ImgPath = s
	}
	if v, ok := d.Get("gt_label"); ok {
		if p.GTLabel, err = intOf(v, "gt_label"); err != nil {
			return p, err
		}
	}
	if v, ok := d.Get("pred_score"); ok {
		t, ok := v.(*checkpoint.Tensor)
		if !ok || !t.DType.IsFloat() || len(t.Shape) != 1 {
			return p, fmt.Errorf("pred_score is %v, not a 1-D float tensor", v)
		}
		p.PredScore = t.F32
		p.NumClasses = len(t.F32)
		p.PredLabel = TopK(t.F32, 1)[0]
	}
	if v, ok := d.Get("pred_label"); ok {
		if p.PredLabel, err = intOf(v, "pred_label"); err != nil {
			return p, err
		}
	} else if p.PredScore == nil {
		return p, fmt.Errorf("neither pred_score nor pred_label")
	}
	if v, ok := d.Get("num_classes"); ok {
		if p.NumClasses, err = intOf(v, "num_classes"); err != nil {
			return p, err
		}
		if p.PredScore != nil && p.NumClasses != len(p.PredScore) {
			return p, fmt.Errorf("num_classes %d but %d scores", p.NumClasses, len(p.PredScore))
		}
	}
	p.Meta = metaOf(d)
	return p, nil
}

// intOf reads an int: a Python int or a one-element integer tensor.
func intOf(v any, key string) (int, error) {
	switch x := v.(type) {
	case int64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, fmt.Errorf("%s %d out of range", key, x)
		}
		return int(x), nil
	case *checkpoint.Tensor:
		if x.Numel() == 1 && !x.DType.IsFloat() && len(x.I64) == 1 {
			return intOf(x.I64[0], key)
		}
	}
	return 0, fmt.Errorf("%s is %v, not an int or a one-element integer tensor", key, v)
}

// metaOf reads ori_shape, img_shape and scale_factor when present.
func metaOf(d *checkpoint.Dict) imagenet.Meta {
	var m imagenet.Meta
	pair := func(key string) ([2]float64, bool) {
		v, _ := d.Get(key)
		t, ok := v.(checkpoint.Tuple)
		if !ok || len(t) != 2 {
			return [2]float64{}, false
		}
		var out [2]float64
		for i, e := range t {
			switch x := e.(type) {
			case int64:
				out[i] = float64(x)
			case float64:
				out[i] = x
			default:
				return [2]float64{}, false
			}
		}
		return out, true
	}
	if v, ok := pair("ori_shape"); ok {
		m.OriShape = [2]int{int(v[0]), int(v[1])}
	}
	if v, ok := pair("img_shape"); ok {
		m.ImgShape = [2]int{int(v[0]), int(v[1])}
	}
	if v, ok := pair("scale_factor"); ok {
		m.ScaleFactor, m.Scaled = v, true
	}
	return m
}

// Offline evaluates the predictions of a results file with ev, as
// mmengine's Evaluator.offline_evaluate does for eval_metric.py and
// confusion_matrix.py. Samples without ground truth are an error (upstream
// cannot evaluate them either).
func Offline(ev *Evaluator, preds []Prediction) ([]Metric, error) {
	ev.Reset()
	for i := range preds {
		p := &preds[i]
		if p.GTLabel < 0 {
			return nil, fmt.Errorf("evaluate: sample %d (%s) has no gt_label", p.SampleIdx, p.ImgPath)
		}
		if err := ev.ProcessSample(p.Sample()); err != nil {
			return nil, fmt.Errorf("sample %d (%s): %w", p.SampleIdx, p.ImgPath, err)
		}
	}
	return ev.Compute()
}

// ParseMetricOptions turns eval_metric.py's --metric items ("type=Accuracy",
// "topk=1,5": KEY=VALUE, the value parsed as mmengine's DictAction does)
// into a metric dict.
func ParseMetricOptions(items []string) (*config.Dict, error) {
	d := config.NewDict()
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--metric item %q is not KEY=VALUE", it)
		}
		val, err := config.ParseOptionValue(v)
		if err != nil {
			return nil, fmt.Errorf("--metric %s: %v", it, err)
		}
		d.Set(k, val)
	}
	return d, nil
}
