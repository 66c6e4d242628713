package setup

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/train"
)

// pyRepr writes a JSON value as a Python literal for a config.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return fmt.Sprintf("%q", x)
	case float64:
		return fmt.Sprint(x)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, pyRepr(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var keys []string
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%q: %s", k, pyRepr(x[k])))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	panic(fmt.Sprintf("pyRepr %T", v))
}

// TestSchedulersMatchMmengine: every scheduler type, built from its config
// dict by TrainSpec (defaults, default end, convert_to_iter_based) and
// stepped as the ParamSchedulerHook steps them over 3 epochs of 4
// iterations, gives mmengine's lr, momentum and weight_decay at every
// iteration, for two param groups (lr 0.1 and, through bias_lr_mult, 0.05)
// (testdata/train/schedulers/gen_schedules.py).
func TestSchedulersMatchMmengine(t *testing.T) {
	raw, err := os.ReadFile(fixtures.Testdata(t, "train/schedulers/schedules.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		ParamScheduler []any          `json:"param_scheduler"`
		Values         [][][3]float64 `json:"values"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 15 {
		t.Fatalf("%d cases", len(cases))
	}
	for ci, c := range cases {
		name := fmt.Sprint(ci, c.ParamScheduler[0].(map[string]any)["type"])
		t.Run(name, func(t *testing.T) {
			cfg := stepConfig(t, "param_scheduler = "+pyRepr(c.ParamScheduler)+"\n"+
				"train_cfg = dict(by_epoch=True, max_epochs=3)\ntrain_dataloader['batch_size'] = 2\n"+
				"optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4), paramwise_cfg=dict(bias_lr_mult=0.5))")
			s, err := TrainSpec(cfg, TrainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if s.Train.EpochLength() != 4 {
				t.Fatalf("epoch length %d", s.Train.EpochLength())
			}
			m, err := model.New(s.Model)
			if err != nil {
				t.Fatal(err)
			}
			o, err := train.NewOptimizer(m, m.NewGrads(), s.Optimizer)
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range s.Schedulers {
				if err := sc.Init(o); err != nil {
					t.Fatal(err)
				}
			}
			groups := []*train.ParamGroup{o.Groups[0], o.Groups[len(o.Groups)-1]} // a conv weight, head.fc.bias
			if groups[1].Key != "head.fc.bias" || groups[1].LR != 0.05 && len(c.Values) > 0 && c.Values[0][1][0] == 0.05 {
				t.Fatalf("groups %s lr %v", groups[1].Key, groups[1].LR)
			}
			worst := 0.0
			for it, want := range c.Values {
				for gi, g := range groups {
					got := [3]float64{g.LR, g.Momentum, g.WeightDecay}
					for k := range got {
						d := math.Abs(got[k] - want[gi][k])
						worst = math.Max(worst, d)
						if d > 1e-15+1e-12*math.Abs(want[gi][k]) {
							t.Fatalf("iteration %d group %d %s = %.17g, mmengine %.17g", it, gi, []string{"lr", "momentum", "weight_decay"}[k], got[k], want[gi][k])
						}
					}
				}
				for _, sc := range s.Schedulers {
					if !sc.ByEpoch {
						sc.Step(o)
					}
				}
				if (it+1)%4 == 0 {
					for _, sc := range s.Schedulers {
						if sc.ByEpoch {
							sc.Step(o)
						}
					}
				}
			}
			t.Logf("max abs difference %.3g", worst)
		})
	}
}
