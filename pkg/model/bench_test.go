package model

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// BenchmarkPredictor times the deploy graph of each published arch through
// the Predictor (pre-packed weights, recycled buffers) at 224×224.
func BenchmarkPredictor(b *testing.B) {
	for _, arch := range []string{"s0", "s1", "s4"} {
		for _, batch := range []int{1, 32} {
			for _, thr := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/b%d/t%d", arch, batch, thr), func(b *testing.B) {
					m, err := New(Config{Arch: ArchZoo[arch], Deploy: true, NumClasses: 1000})
					if err != nil {
						b.Fatal(err)
					}
					m.InitWeights(rand.New(rand.NewSource(0)))
					defer kernels.SetThreads(kernels.SetThreads(thr))
					p := m.NewPredictor()
					x := NewTensor(batch, 3, 224, 224)
					r := rand.New(rand.NewSource(1))
					for i := range x.Data {
						x.Data[i] = float32(r.NormFloat64())
					}
					if _, err := p.Forward(x); err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := p.Forward(x); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
				})
			}
		}
	}
}
