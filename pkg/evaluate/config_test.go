package evaluate

import (
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/config"
)

func loadCfg(t *testing.T, src string) *config.Config {
	t.Helper()
	c, err := config.LoadBytes("my_cfg.py", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The forms mmengine's Runner.build_evaluator accepts, and the typed
// metrics they decode to.
func TestFromConfig(t *testing.T) {
	c := loadCfg(t, `
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = [
    dict(type='Accuracy', topk=2, thrs=None),
    dict(type='SingleLabelMetric', average=None, thrs=(0.5, None), items=['support'], num_classes=3),
    dict(type='mmpretrain.ConfusionMatrix', prefix='cm', collect_device='gpu'),
]
wrapped = dict(type='Evaluator', metrics=[dict(type='SingleLabelMetric', average='micro')])
`)
	ev, err := FromConfig(c, "val_evaluator")
	if err != nil {
		t.Fatal(err)
	}
	if a := ev.metrics[0].(*Accuracy); len(a.Topk) != 2 || a.Topk[1] != 5 || len(a.Thrs) != 1 || *a.Thrs[0] != 0 {
		t.Errorf("val_evaluator: %+v", a)
	}
	ev, err = FromConfig(c, "test_evaluator")
	if err != nil {
		t.Fatal(err)
	}
	if a := ev.metrics[0].(*Accuracy); len(a.Topk) != 1 || a.Topk[0] != 2 || len(a.Thrs) != 1 || a.Thrs[0] != nil {
		t.Errorf("Accuracy: %+v", a)
	}
	s := ev.metrics[1].(*SingleLabelMetric)
	if s.Average != Classwise || len(s.Thrs) != 2 || *s.Thrs[0] != 0.5 || s.Thrs[1] != nil || s.NumClasses != 3 || len(s.Items) != 1 {
		t.Errorf("SingleLabelMetric: %+v", s)
	}
	if m := ev.metrics[2].(*ConfusionMatrix); m.prefix() != "cm" {
		t.Errorf("ConfusionMatrix prefix %q", m.prefix())
	}
	ev, err = FromConfig(c, "wrapped")
	if err != nil {
		t.Fatal(err)
	}
	if s := ev.metrics[0].(*SingleLabelMetric); s.Average != Micro || len(s.Items) != 3 {
		t.Errorf("wrapped: %+v", s)
	}
}

// Errors name the key and the config file.
func TestFromConfigErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`e = dict(type='Accuracy', topk=(1, 5), top=3)`, `my_cfg.py: decoding e: json: unknown field "top"`},
		{`e = [dict(type='Accuracy'), dict(type='MultiLabelMetric')]`, `my_cfg.py: e.1.type: not supported: metric "MultiLabelMetric"`},
		{`e = dict(type='Acuracy')`, `my_cfg.py: e.type: "Acuracy" is not a metric of mmpretrain`},
		{`e = dict(type='Accuracy', topk='1')`, `my_cfg.py: e.topk: want an int or a non-empty sequence of ints`},
		{`e = dict(type='Accuracy', topk=(0,))`, `my_cfg.py: e.topk: top-0: k must be at least 1`},
		{`e = dict(type='Accuracy', thrs='x')`, `my_cfg.py: e.thrs: want a number, None`},
		{`e = dict(type='SingleLabelMetric', items=('accuracy',))`, "my_cfg.py: e.items: the metric accuracy is not supported by `SingleLabelMetric`"},
		{`e = dict(type='SingleLabelMetric', average='weighted')`, "my_cfg.py: e.average: invalid `average` argument \"weighted\""},
		{`e = dict(type='SingleLabelMetric', num_classes=0)`, `my_cfg.py: e.num_classes: want a positive integer`},
		{`e = dict(type='ConfusionMatrix', collect_device='tpu')`, `my_cfg.py: e.collect_device: want 'cpu' or 'gpu'`},
		{`e = dict(type='Evaluator', metrics=[dict(type='Accuracy')], foo=1)`, `my_cfg.py: e.foo: not supported: Evaluator argument "foo"`},
		{`e = []`, `my_cfg.py: e: no metrics`},
		{`e = 3`, `my_cfg.py: e: want a dict or a list of dicts`},
		{`x = 1`, `my_cfg.py: no e: mmengine needs one`},
	} {
		_, err := FromConfig(loadCfg(t, tc.src), "e")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Two metrics of the same name are an error, as in mmengine.
func TestDuplicateNames(t *testing.T) {
	ev, _ := New(NewAccuracy(1), NewAccuracy(1))
	if err := ev.Process([]float32{1, 0}, 2, []int{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Compute(); err == nil || !strings.Contains(err.Error(), "multiple evaluation results with the same metric name accuracy/top1") {
		t.Errorf("error %v", err)
	}
	ev.Reset()
	if _, err := ev.Compute(); err == nil {
		t.Error("Compute with no samples: no error")
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{20: "20.0", 43.33333206176758: "43.33333206176758", 1e-5: "1e-05",
		0.0001: "0.0001", 1e16: "1e+16", 1234567890123456: "1234567890123456.0", 1.5e-7: "1.5e-07", 0: "0.0"} {
		if got := PyFloat(f); got != want {
			t.Errorf("PyFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
