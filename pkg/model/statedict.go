package model

// StateDict returns every entry of the model's state dict in PyTorch's key
// order (the order of mmpretrain's ImageClassifier.state_dict()). Entries
// point at the model's own storage: writing through them changes the model.
func (m *ImageClassifier) StateDict() []Entry {
	var out []Entry
	blocks, names := m.Blocks()
	for i, b := range blocks {
		out = b.appendEntries(out, names[i]+".")
	}
	out = append(out,
		Entry{Key: "head.fc.weight", Kind: Param, Tensor: m.Head.FC.Weight},
		Entry{Key: "head.fc.bias", Kind: Param, Tensor: m.Head.FC.Bias, Bias: true})
	return out
}

// Parameters returns the trainable entries of StateDict.
func (m *ImageClassifier) Parameters() []Entry {
	var out []Entry
	for _, e := range m.StateDict() {
		if e.Kind == Param {
			out = append(out, e)
		}
	}
	return out
}

// NumParams counts the elements of all trainable parameters.
func (m *ImageClassifier) NumParams() int {
	n := 0
	for _, e := range m.Parameters() {
		n += e.Tensor.Numel()
	}
	return n
}

// Module registration order of MobileOneBlock: se, branch_norm,
// branch_scale, branch_conv_list (train) or se, branch_reparam (deploy).
func (b *MobileOneBlock) appendEntries(out []Entry, prefix string) []Entry {
	if b.SE != nil {
		out = b.SE.Conv1.appendEntries(out, prefix+"se.conv1.conv.")
		out = b.SE.Conv2.appendEntries(out, prefix+"se.conv2.conv.")
	}
	if b.BranchReparam != nil {
		return b.BranchReparam.appendEntries(out, prefix+"branch_reparam.")
	}
	if b.BranchNorm != nil {
		out = b.BranchNorm.appendEntries(out, prefix+"branch_norm.")
	}
	if b.BranchScale != nil {
		out = b.BranchScale.appendEntries(out, prefix+"branch_scale.")
	}
	for i, cb := range b.BranchConvList {
		out = cb.appendEntries(out, prefix+"branch_conv_list."+itoa(i)+".")
	}
	return out
}

func (c *Conv2d) appendEntries(out []Entry, prefix string) []Entry {
	out = append(out, Entry{Key: prefix + "weight", Kind: Param, Tensor: c.Weight})
	if c.Bias != nil {
		out = append(out, Entry{Key: prefix + "bias", Kind: Param, Tensor: c.Bias, Bias: true})
	}
	return out
}

func (bn *BatchNorm2d) appendEntries(out []Entry, prefix string) []Entry {
	return append(out,
		Entry{Key: prefix + "weight", Kind: Param, Tensor: bn.Weight, Norm: true},
		Entry{Key: prefix + "bias", Kind: Param, Tensor: bn.Bias, Norm: true, Bias: true},
		Entry{Key: prefix + "running_mean", Kind: Buffer, Tensor: bn.RunningMean},
		Entry{Key: prefix + "running_var", Kind: Buffer, Tensor: bn.RunningVar},
		Entry{Key: prefix + "num_batches_tracked", Kind: Counter, Count: &bn.NumBatchesTracked})
}

func (cb *ConvBN) appendEntries(out []Entry, prefix string) []Entry {
	out = cb.Conv.appendEntries(out, prefix+"conv.")
	return cb.Norm.appendEntries(out, prefix+"norm.")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
