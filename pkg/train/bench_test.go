package train

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/model"
)

// BenchmarkTrainStepS0 times one training iteration of MobileOne-s0 (the
// train-time graph: train-mode forward, LabelSmoothLoss, backward, SGD with
// momentum and weight decay) and reports training images/s. Compare with
// `python3 bench/models/torch_models.py train --arch s0 --size S --batch B
// --threads 2` at the same thread count:
//
//	go test -run '^$' -bench BenchmarkTrainStepS0 -benchtime 5x -cpu 2 ./pkg/train/
func BenchmarkTrainStepS0(b *testing.B) {
	for _, c := range []struct{ size, batch int }{{224, 32}, {32, 64}} {
		b.Run(fmt.Sprintf("%dx%d_b%d", c.size, c.size, c.batch), func(b *testing.B) {
			arch, err := model.ParseArch("s0")
			if err != nil {
				b.Fatal(err)
			}
			m, err := model.New(model.Config{Arch: arch, NumClasses: 1000})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewSource(0))
			m.InitWeights(rng)
			g := m.NewGrads()
			zero := 0.0
			o, err := NewOptimizer(m, g, OptimConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4, NormDecayMult: &zero})
			if err != nil {
				b.Fatal(err)
			}
			x := model.NewTensor(c.batch, 3, c.size, c.size)
			for i := range x.Data {
				x.Data[i] = float32(rng.NormFloat64())
			}
			labels := make([]int, c.batch)
			for i := range labels {
				labels[i] = rng.Intn(1000)
			}
			ws := model.NewWorkspace()
			loss := LabelSmoothLoss{LabelSmoothVal: 0.1}
			step := func() {
				if _, _, err := ComputeGradientsWith(ws, m, g, loss, x, labels); err != nil {
					b.Fatal(err)
				}
				o.Step()
			}
			step() // warm-up: workspace and kernel buffers
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step()
			}
			b.ReportMetric(float64(c.batch*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
