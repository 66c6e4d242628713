package model

import (
	"math"
	"math/rand"
)

// InitWeights sets the initial values mmpretrain gives a model trained from
// scratch (MobileOne's init_cfg and LinearClsHead's): Kaiming-normal convs
// (a=0, mode='fan_out', nonlinearity='relu': std = sqrt(2/fan_out) with
// fan_out = out_channels·K·K) with zero bias, BatchNorm weight 1 and bias 0
// (running statistics reset to mean 0, var 1, count 0), and the head's
// Linear from N(0, 0.01²) with zero bias. rng is the only source of
// randomness.
func (m *ImageClassifier) InitWeights(rng *rand.Rand) {
	blocks, _ := m.Blocks()
	for _, b := range blocks {
		if b.SE != nil {
			kaiming(b.SE.Conv1, rng)
			kaiming(b.SE.Conv2, rng)
		}
		if b.BranchReparam != nil {
			kaiming(b.BranchReparam, rng)
		}
		if b.BranchNorm != nil {
			b.BranchNorm.reset()
		}
		for _, cb := range append([]*ConvBN{b.BranchScale}, b.BranchConvList...) {
			if cb == nil {
				continue
			}
			kaiming(cb.Conv, rng)
			cb.Norm.reset()
		}
	}
	for i := range m.Head.FC.Weight.Data {
		m.Head.FC.Weight.Data[i] = float32(rng.NormFloat64() * 0.01)
	}
	clear(m.Head.FC.Bias.Data)
}

func kaiming(c *Conv2d, rng *rand.Rand) {
	std := math.Sqrt(2 / float64(c.Out*c.K*c.K))
	for i := range c.Weight.Data {
		c.Weight.Data[i] = float32(rng.NormFloat64() * std)
	}
	if c.Bias != nil {
		clear(c.Bias.Data)
	}
}

func (bn *BatchNorm2d) reset() {
	for i := range bn.Weight.Data {
		bn.Weight.Data[i] = 1
		bn.Bias.Data[i] = 0
		bn.RunningMean.Data[i] = 0
		bn.RunningVar.Data[i] = 1
	}
	bn.NumBatchesTracked = 0
}
