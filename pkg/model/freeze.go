package model

import (
	"math"

	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// frozenBlocks is the number of leading blocks that mmpretrain's
// MobileOne._freeze_stages puts in eval mode without gradients: stage0
// when Frozen >= 1, then every block of stage1 .. stage(Frozen−1).
func (m *ImageClassifier) frozenBlocks() int {
	f := m.Config.Frozen
	if f <= 0 {
		return 0
	}
	n := 1
	for s := 0; s < min(f-1, 4); s++ {
		n += len(m.Backbone.Stages[s])
	}
	return n
}

// FrozenParams returns the parameters with requires_grad=False
// (frozen_stages): they get no gradient and the optimizer skips them.
func (m *ImageClassifier) FrozenParams() map[*Tensor]bool {
	out := map[*Tensor]bool{}
	blocks, names := m.Blocks()
	nf := m.frozenBlocks()
	var sd []Entry
	for i := 0; i < nf; i++ {
		sd = blocks[i].appendEntries(sd, names[i]+".")
	}
	for _, e := range sd {
		if e.Kind == Param {
			out[e.Tensor] = true
		}
	}
	return out
}

// bnEval reports whether a BatchNorm of block i runs in eval mode during
// training: the block is frozen, or norm_eval is set.
func (m *ImageClassifier) bnEval(i int) bool {
	return m.Config.NormEval || i < m.frozenBlocks()
}

// evalStats fills st with the running statistics (Mean = running_mean,
// InvStd = 1/sqrt(running_var + eps), computed in float32 as ATen's CPU
// batch norm does).
func (bn *BatchNorm2d) evalStats(st kernels.BNStats) {
	for c := range bn.RunningMean.Data {
		st.Mean[c] = bn.RunningMean.Data[c]
		st.InvStd[c] = 1 / float32(math.Sqrt(float64(bn.RunningVar.Data[c]+bn.Eps)))
	}
}

// bnEvalForward is eval-mode BatchNorm2d with the statistics in st:
// out (+)= x·α + β with α = weight·invstd, β = bias − mean·α per channel.
// out may alias x unless accumulate.
func bnEvalForward(out, x []float32, bn *BatchNorm2d, n, channels, hw int, st kernels.BNStats, accumulate bool) {
	for c := 0; c < channels; c++ {
		a := bn.Weight.Data[c] * st.InvStd[c]
		b := bn.Bias.Data[c] - st.Mean[c]*a
		for i := 0; i < n; i++ {
			o := (i*channels + c) * hw
			src, dst := x[o:o+hw], out[o:o+hw]
			if accumulate {
				for j, v := range src {
					dst[j] += v*a + b
				}
			} else {
				for j, v := range src {
					dst[j] = v*a + b
				}
			}
		}
	}
}

// bnEvalBackward is the gradient of bnEvalForward: dWeight = Σ dOut·x̂,
// dBias = Σ dOut (written; sums in float64), and when dx is not nil the
// input gradient dOut·weight·invstd, written or (accumulate) added.
func bnEvalBackward(dx, dWeight, dBias, dOut, x, weight []float32, n, channels, hw int, st kernels.BNStats, accumulate bool) {
	for c := 0; c < channels; c++ {
		var sw, sb float64
		inv, mean := st.InvStd[c], st.Mean[c]
		g := weight[c] * inv
		for i := 0; i < n; i++ {
			o := (i*channels + c) * hw
			dy, xs := dOut[o:o+hw], x[o:o+hw]
			for j, d := range dy {
				sb += float64(d)
				sw += float64(d) * float64((xs[j]-mean)*inv)
			}
			if dx == nil {
				continue
			}
			dst := dx[o : o+hw]
			if accumulate {
				for j, d := range dy {
					dst[j] += d * g
				}
			} else {
				for j, d := range dy {
					dst[j] = d * g
				}
			}
		}
		dWeight[c], dBias[c] = float32(sw), float32(sb)
	}
}
