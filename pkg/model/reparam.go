package model

import "math"

// SwitchToDeploy reparameterizes every block in place, as mmpretrain's
// MobileOne.switch_to_deploy(): each block's branches are fused into one
// K×K conv with bias (branch_reparam) and the branches are dropped. It is a
// no-op on a model that is already deployed.
func (m *ImageClassifier) SwitchToDeploy() {
	blocks, _ := m.Blocks()
	for _, b := range blocks {
		b.switchToDeploy()
	}
	m.Config.Deploy = true
}

func (b *MobileOneBlock) switchToDeploy() {
	if b.BranchReparam != nil {
		return
	}
	w, bias := b.fusedKernelBias()
	b.BranchReparam = &Conv2d{In: b.In, Out: b.Out, K: b.K, Stride: b.Stride, Padding: b.Padding, Groups: b.Groups,
		Weight: w, Bias: bias}
	b.BranchNorm, b.BranchScale, b.BranchConvList = nil, nil, nil
}

// fusedKernelBias is MobileOneBlock._get_kernel_bias with upstream's
// float32 arithmetic order: the conv branches summed in list order, the
// scale branch fused and zero-padded to K×K, the identity branch as a
// centred one-hot kernel fused with its BN, and
// W = (W_conv + W_scale) + W_identity (the same for the bias).
func (b *MobileOneBlock) fusedKernelBias() (*Tensor, *Tensor) {
	icg := b.In / b.Groups
	kk := b.K * b.K
	wConv := NewTensor(b.Out, icg, b.K, b.K)
	bConv := NewTensor(b.Out)
	for _, cb := range b.BranchConvList {
		w, bias := fuseBN(cb.Conv.Weight, cb.Norm)
		for i, v := range w.Data {
			wConv.Data[i] += v
		}
		for i, v := range bias.Data {
			bConv.Data[i] += v
		}
	}
	if b.BranchScale != nil {
		w, bias := fuseBN(b.BranchScale.Conv.Weight, b.BranchScale.Norm)
		centre := (b.K/2)*b.K + b.K/2
		for o := 0; o < b.Out; o++ {
			for c := 0; c < icg; c++ {
				wConv.Data[(o*icg+c)*kk+centre] += w.Data[o*icg+c]
			}
			bConv.Data[o] += bias.Data[o]
		}
	}
	if b.BranchNorm != nil {
		id := NewTensor(b.In, icg, b.K, b.K)
		centre := (b.K/2)*b.K + b.K/2
		for i := 0; i < b.In; i++ {
			id.Data[(i*icg+i%icg)*kk+centre] = 1
		}
		w, bias := fuseBN(id, b.BranchNorm)
		for i, v := range w.Data {
			wConv.Data[i] += v
		}
		for i, v := range bias.Data {
			bConv.Data[i] += v
		}
	}
	return wConv, bConv
}

// fuseBN folds an eval-mode BatchNorm into the conv kernel before it:
// std = sqrt(var + eps); W' = W · (γ/std) per output channel;
// b' = β − (μ·γ)/std, each step rounded to float32 as PyTorch does.
func fuseBN(kernel *Tensor, bn *BatchNorm2d) (*Tensor, *Tensor) {
	out := kernel.Shape[0]
	per := kernel.Numel() / out
	w := NewTensor(kernel.Shape...)
	bias := NewTensor(out)
	for o := 0; o < out; o++ {
		std := float32(math.Sqrt(float64(bn.RunningVar.Data[o] + bn.Eps)))
		t := bn.Weight.Data[o] / std
		for i := 0; i < per; i++ {
			w.Data[o*per+i] = kernel.Data[o*per+i] * t
		}
		mg := bn.RunningMean.Data[o] * bn.Weight.Data[o]
		bias.Data[o] = bn.Bias.Data[o] - mg/std
	}
	return w, bias
}
