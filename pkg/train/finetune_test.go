package train

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// finetuneCase is one variant of testdata/train/finetune/gen_finetune_steps.py.
type finetuneCase struct {
	name       string
	mod        func(c *model.Config)
	opt        OptimConfig
	numClasses int
}

func finetuneCases() []finetuneCase {
	zero := 0.0
	sgd := OptimConfig{Type: "SGD", LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, NormDecayMult: &zero, Paramwise: true}
	return []finetuneCase{
		{"frozen2_bn", func(c *model.Config) { c.Frozen, c.BNMomentum, c.BNEps = 3, 0.03, 1e-3 }, sgd, 10},
		{"norm_eval", func(c *model.Config) { c.NormEval = true }, sgd, 10},
		{"adamw", nil, OptimConfig{Type: "AdamW", LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.05, NormDecayMult: &zero, Paramwise: true}, 10},
		{"adam", nil, OptimConfig{Type: "Adam", LR: 1e-3, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 1e-4}, 10},
		{"nesterov", nil, OptimConfig{Type: "SGD", LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true}, 10},
		{"head3", nil, sgd, 3},
	}
}

// TestFineTuneStepParity: one training step under fine-tuning options
// (frozen_stages=2 with norm_cfg momentum 0.03 / eps 1e-3, norm_eval,
// AdamW, Adam, Nesterov SGD, a 3-class head on the 10-class checkpoint)
// gives upstream mmpretrain/mmengine's loss, parameters, BatchNorm
// statistics and optimizer state (momentum buffers; Adam's step, exp_avg,
// exp_avg_sq); frozen parameters and statistics do not move and get no
// optimizer state.
func TestFineTuneStepParity(t *testing.T) {
	init := loadStateDict(t, fixtures.Testdata(t, "checkpoint/tiny_train.pth"))
	for _, c := range finetuneCases() {
		t.Run(c.name, func(t *testing.T) {
			f, err := checkpoint.Load(fixtures.Testdata(t, "train/finetune/"+c.name+".pth"))
			if err != nil {
				t.Fatal(err)
			}
			root := f.Root.(*checkpoint.Dict)
			want, err := f.StateDict()
			if err != nil {
				t.Fatal(err)
			}
			m0, _ := tinyModel(t)
			mc := m0.Config
			mc.NumClasses = c.numClasses
			if c.mod != nil {
				c.mod(&mc)
			}
			m, err := model.New(mc)
			if err != nil {
				t.Fatal(err)
			}
			if msg := loadPartial(m.StateDict(), init); c.numClasses == 10 && msg != "" {
				t.Fatalf("loading tiny_train.pth: %s", msg)
			} else if c.numClasses != 10 {
				// mmengine's notice names the dropped head and both shapes.
				if !strings.Contains(msg, "size mismatch") || !strings.Contains(msg, "head.fc.weight\t[10 256]\t[3 256]") {
					t.Errorf("notice for the 3-class head: %q", msg)
				}
				// The head is left as initialized (mmengine's size mismatch):
				// take upstream's initial head.
				ih := root.Dict("init_head")
				sd := checkpoint.NewStateDict()
				for _, k := range []string{"head.fc.weight", "head.fc.bias"} {
					v, _ := ih.Get(k)
					sd.Add(k, v.(*checkpoint.Tensor))
				}
				if err := checkpoint.Apply(m.StateDict()[len(m.StateDict())-2:], sd); err != nil {
					t.Fatal(err)
				}
			}
			before := map[string][]float32{}
			for _, e := range m.StateDict() {
				if e.Tensor != nil {
					before[e.Key] = append([]float32(nil), e.Tensor.Data...)
				}
			}
			g := m.NewGrads()
			o, err := NewOptimizer(m, g, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			labels := make([]int, len(fixtureLabels))
			for i, l := range fixtureLabels {
				labels[i] = l % c.numClasses
			}
			loss, _, err := ComputeGradients(m, g, LabelSmoothLoss{LabelSmoothVal: 0.1}, fixtureBatch(t), labels)
			if err != nil {
				t.Fatal(err)
			}
			wl, _ := root.Get("loss")
			wantLoss, _ := toFloat(wl)
			if math.Abs(loss-wantLoss) > 1e-5*math.Abs(wantLoss) {
				t.Errorf("loss %.9g, want %.9g", loss, wantLoss)
			}
			o.Step()
			frozen := m.FrozenParams()
			adam := c.opt.Type != "SGD"
			st := root.Dict("optimizer").Dict("state")
			// Adam's first step is lr·g/(|g| + eps'), ill-conditioned where
			// the gradient is float32 noise (|g| ~ eps'): there both sides'
			// updates are only bounded by lr. upstreamGrad recovers g from
			// upstream's exp_avg = (1−β1)·g.
			upstreamGrad := map[string][]float32{}
			if adam {
				for i, gr := range o.Groups {
					if sv, ok := st.Get(int64(i)); ok {
						v, _ := sv.(*checkpoint.Dict).Get("exp_avg")
						ea := v.(*checkpoint.Tensor).F32
						gu := make([]float32, len(ea))
						for j := range ea {
							gu[j] = ea[j] / float32(1-c.opt.Beta1)
						}
						upstreamGrad[gr.Key] = gu
					}
				}
			}
			noisy := 0
			ps, _ := compareStep(t, m, before, want, func(e model.Entry, got, exp []float32) diffStats {
				p0 := before[e.Key]
				atol, rtol := c.opt.LR*gradAtol+2e-7, gradRtol
				if adam {
					// Where |g| ≥ 1e-4 a relative gradient error r moves
					// the update by about lr·r·eps'/|g|.
					atol, rtol = c.opt.LR*1e-3+2e-7, 1e-3
					gu := upstreamGrad[e.Key]
					for i := range got {
						if math.Abs(float64(gu[i])) < 1e-4 {
							noisy++
							// |Δ| ≤ lr (+ AdamW's decay lr·wd·|p|)
							if math.Abs(float64(got[i])) > 1.01*c.opt.LR+c.opt.LR*c.opt.WeightDecay*math.Abs(float64(p0[i])) {
								t.Errorf("update of %s[%d] = %v exceeds Adam's bound lr", e.Key, i, got[i])
							}
							got[i], exp[i] = 0, 0
						}
					}
				}
				s := compare(t, "update of "+e.Key, got, exp, atol, rtol)
				if frozen[e.Tensor] && s.maxAbs != 0 {
					t.Errorf("frozen %s moved", e.Key)
				}
				return s
			})
			var ms diffStats
			for i, gr := range o.Groups {
				sv, ok := st.Get(int64(i))
				if gr.Frozen {
					if ok {
						t.Errorf("frozen %s has optimizer state upstream", gr.Key)
					}
					if gr.Buf != nil {
						t.Errorf("frozen %s got optimizer state", gr.Key)
					}
					continue
				}
				if !ok {
					t.Fatalf("upstream has no optimizer state for %s", gr.Key)
				}
				sd := sv.(*checkpoint.Dict)
				names := map[string][]float32{"momentum_buffer": gr.Buf}
				if adam {
					names = map[string][]float32{"exp_avg": gr.Buf, "exp_avg_sq": gr.ExpAvgSq}
					sv, _ := sd.Get("step")
					if s := sv.(*checkpoint.Tensor).F32[0]; s != gr.Steps {
						t.Errorf("%s step %v, want %v", gr.Key, gr.Steps, s)
					}
				}
				for name, got := range names {
					bv, _ := sd.Get(name)
					atol := gradAtol
					if name == "exp_avg_sq" {
						atol = 1e-9 // (1−β2)·g²: tiny values
					}
					s := compare(t, fmt.Sprintf("%s %s", name, gr.Key), got, bv.(*checkpoint.Tensor).F32, atol, 2*gradRtol)
					ms.maxAbs, ms.maxRel = math.Max(ms.maxAbs, s.maxAbs), math.Max(ms.maxRel, s.maxRel)
				}
			}
			t.Logf("loss %.9g (upstream %.9g); %d frozen params; %d Adam updates of noise-level gradients only bounded; param updates: max abs %.3g rel %.3g; optimizer state: max abs %.3g rel %.3g",
				loss, wantLoss, len(frozen), noisy, ps.maxAbs, ps.maxRel, ms.maxAbs, ms.maxRel)
		})
	}
}

func loadStateDict(t *testing.T, path string) *checkpoint.StateDict {
	t.Helper()
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	return sd
}
