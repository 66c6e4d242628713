package model

import (
	"fmt"

	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// Config is what the model needs from an mmpretrain config: the
// ImageClassifier(backbone=MobileOne(...), neck=GlobalAveragePooling,
// head=LinearClsHead(...)) of configs/_base_/models/mobileone/*.py.
type Config struct {
	Arch       Arch
	Deploy     bool // model.backbone.deploy: build the reparameterized graph
	NumClasses int  // model.head.num_classes
	InChannels int  // model.head.in_channels (must equal the last stage's width)
	// SERatio is se_cfg.ratio (mmpretrain default 16).
	SERatio int
	// BNEps and BNMomentum are BatchNorm2d's eps and momentum, PyTorch
	// defaults 1e-5 and 0.1 (running = (1−m)·running + m·batch), which is
	// what mmcv's build_norm_layer(dict(type='BN')) gives.
	BNEps, BNMomentum float32
	// Frozen is frozen_stages + 1 (0: frozen_stages=-1, nothing frozen;
	// 1: stage0; 1+k: stage0 and stage1..stagek): those blocks train in
	// eval mode (running statistics, not updated) and get no gradients.
	Frozen int
	// NormEval is norm_eval: every BatchNorm uses and keeps its running
	// statistics during training (its weight and bias still learn).
	NormEval bool
}

// defaults fills the documented defaults of unset fields.
func (c *Config) defaults() {
	if c.SERatio == 0 {
		c.SERatio = 16
	}
	if c.BNEps == 0 {
		c.BNEps = 1e-5
	}
	if c.BNMomentum == 0 {
		c.BNMomentum = 0.1
	}
}

// Conv2d is torch.nn.Conv2d (dilation 1). Bias is nil when bias=False.
type Conv2d struct {
	Weight                              *Tensor // [Out, In/Groups, K, K]
	Bias                                *Tensor // [Out] or nil
	In, Out, K, Stride, Padding, Groups int
}

func newConv2d(in, out, k, stride, padding, groups int, bias bool) *Conv2d {
	c := &Conv2d{In: in, Out: out, K: k, Stride: stride, Padding: padding, Groups: groups,
		Weight: NewTensor(out, in/groups, k, k)}
	if bias {
		c.Bias = NewTensor(out)
	}
	return c
}

// params returns the kernel parameters for an input of shape [n, In, h, w].
func (c *Conv2d) params(n, h, w int) kernels.ConvParams {
	return kernels.ConvParams{N: n, InC: c.In, InH: h, InW: w, OutC: c.Out, KH: c.K, KW: c.K,
		StrideH: c.Stride, StrideW: c.Stride, PadH: c.Padding, PadW: c.Padding, Groups: c.Groups}
}

// BatchNorm2d is torch.nn.BatchNorm2d(affine=True, track_running_stats=True).
type BatchNorm2d struct {
	Weight, Bias            *Tensor // [C], trainable
	RunningMean, RunningVar *Tensor // [C], buffers
	NumBatchesTracked       int64
	Eps, Momentum           float32
}

func newBatchNorm2d(c int, cfg *Config) *BatchNorm2d {
	bn := &BatchNorm2d{Weight: NewTensor(c), Bias: NewTensor(c), RunningMean: NewTensor(c), RunningVar: NewTensor(c),
		Eps: cfg.BNEps, Momentum: cfg.BNMomentum}
	// PyTorch's reset_parameters: weight 1, bias 0, mean 0, var 1.
	for i := 0; i < c; i++ {
		bn.Weight.Data[i] = 1
		bn.RunningVar.Data[i] = 1
	}
	return bn
}

// ConvBN is the conv+BN Sequential of a MobileOne branch; mmpretrain names
// its children "conv" and "norm".
type ConvBN struct {
	Conv *Conv2d
	Norm *BatchNorm2d
}

// SELayer is mmpretrain's SELayer: global average pool, conv1 (1×1, bias,
// ReLU), conv2 (1×1, bias, Sigmoid), then x·weight. Its ConvModules name
// their conv "conv", so the keys are se.conv1.conv.weight etc.
type SELayer struct {
	Conv1, Conv2 *Conv2d
}

// MobileOneBlock is mmpretrain's MobileOneBlock. In the train-time graph the
// branches are BranchNorm (identity BN, only when in == out and stride 1),
// BranchScale (1×1 conv+BN, only when K > 1) and BranchConvList (K×K
// conv+BN each); after reparameterization only BranchReparam (K×K conv
// with bias) is left. SE, when present, applies to the branch sum before
// the ReLU.
type MobileOneBlock struct {
	In, Out, K, Stride, Padding, Groups, NumConvs int

	SE             *SELayer
	BranchNorm     *BatchNorm2d
	BranchScale    *ConvBN
	BranchConvList []*ConvBN
	BranchReparam  *Conv2d
}

// Deployed reports whether the block holds the reparameterized conv.
func (b *MobileOneBlock) Deployed() bool { return b.BranchReparam != nil }

func newBlock(in, out, k, stride, padding, groups, numConvs int, se bool, cfg *Config) *MobileOneBlock {
	b := &MobileOneBlock{In: in, Out: out, K: k, Stride: stride, Padding: padding, Groups: groups, NumConvs: numConvs}
	if se {
		sq := MakeDivisible(float64(out/cfg.SERatio), 8)
		b.SE = &SELayer{Conv1: newConv2d(out, sq, 1, 1, 0, 1, true), Conv2: newConv2d(sq, out, 1, 1, 0, 1, true)}
	}
	if cfg.Deploy {
		b.BranchReparam = newConv2d(in, out, k, stride, padding, groups, true)
		return b
	}
	if out == in && stride == 1 {
		b.BranchNorm = newBatchNorm2d(in, cfg)
	}
	if k > 1 {
		b.BranchScale = &ConvBN{Conv: newConv2d(in, out, 1, stride, 0, groups, false), Norm: newBatchNorm2d(out, cfg)}
	}
	for i := 0; i < numConvs; i++ {
		b.BranchConvList = append(b.BranchConvList, &ConvBN{Conv: newConv2d(in, out, k, stride, padding, groups, false), Norm: newBatchNorm2d(out, cfg)})
	}
	return b
}

// MobileOne is the backbone: stage0 (one 3×3 stride-2 block) and stage1..4,
// each a sequence of (depthwise 3×3, pointwise 1×1) block pairs.
type MobileOne struct {
	Arch   Arch
	Stage0 *MobileOneBlock
	Stages [4][]*MobileOneBlock // stage1..stage4 (mmengine Sequential indices)
}

// Linear is torch.nn.Linear.
type Linear struct {
	Weight  *Tensor // [Out, In]
	Bias    *Tensor // [Out]
	In, Out int
}

// LinearClsHead is mmpretrain's LinearClsHead; its Linear is named "fc".
type LinearClsHead struct {
	FC *Linear
}

// ImageClassifier is mmpretrain's ImageClassifier with a MobileOne backbone,
// a GlobalAveragePooling neck (no parameters) and a LinearClsHead. Its state
// dict keys are "backbone.*" then "head.fc.*".
type ImageClassifier struct {
	Config   Config
	Backbone *MobileOne
	Head     *LinearClsHead
}

// New builds the model with PyTorch's default initial values (zero conv and
// linear weights here: load a checkpoint or call InitWeights). It checks the
// config the way mmpretrain's constructors do.
func New(cfg Config) (*ImageClassifier, error) {
	cfg.defaults()
	if err := cfg.Arch.Validate(); err != nil {
		return nil, err
	}
	if cfg.NumClasses <= 0 {
		return nil, fmt.Errorf("model: num_classes=%d must be a positive integer", cfg.NumClasses)
	}
	ch := cfg.Arch.Channels()
	for i, c := range ch {
		if c < 1 {
			return nil, fmt.Errorf("model: stage%d has %d channels; width_factor too small", i, c)
		}
	}
	if cfg.InChannels == 0 {
		cfg.InChannels = ch[4]
	}
	if cfg.InChannels != ch[4] {
		return nil, fmt.Errorf("model: head.in_channels=%d but the backbone's last stage has %d channels", cfg.InChannels, ch[4])
	}
	bb := &MobileOne{Arch: cfg.Arch}
	bb.Stage0 = newBlock(3, ch[0], 3, 2, 1, 1, 1, false, &cfg)
	inPlanes := ch[0]
	for s := 0; s < 4; s++ {
		planes := ch[s+1]
		n := cfg.Arch.NumBlocks[s]
		for j := 0; j < n; j++ {
			stride := 1
			if j == 0 {
				stride = 2
			}
			se := j >= n-cfg.Arch.NumSEBlocks[s]
			nc := cfg.Arch.NumConvBranches[s]
			bb.Stages[s] = append(bb.Stages[s],
				newBlock(inPlanes, inPlanes, 3, stride, 1, inPlanes, nc, se, &cfg),
				newBlock(inPlanes, planes, 1, 1, 0, 1, nc, se, &cfg))
			inPlanes = planes
		}
	}
	head := &LinearClsHead{FC: &Linear{In: cfg.InChannels, Out: cfg.NumClasses,
		Weight: NewTensor(cfg.NumClasses, cfg.InChannels), Bias: NewTensor(cfg.NumClasses)}}
	return &ImageClassifier{Config: cfg, Backbone: bb, Head: head}, nil
}

// Blocks returns every MobileOneBlock in module order with its key prefix
// ("backbone.stage0", "backbone.stage1.0", ...).
func (m *ImageClassifier) Blocks() ([]*MobileOneBlock, []string) {
	blocks := []*MobileOneBlock{m.Backbone.Stage0}
	names := []string{"backbone.stage0"}
	for s, stage := range m.Backbone.Stages {
		for i, b := range stage {
			blocks = append(blocks, b)
			names = append(names, fmt.Sprintf("backbone.stage%d.%d", s+1, i))
		}
	}
	return blocks, names
}

// Deployed reports whether the model is the reparameterized graph.
func (m *ImageClassifier) Deployed() bool { return m.Backbone.Stage0.Deployed() }

// NumClasses is the head's output size.
func (m *ImageClassifier) NumClasses() int { return m.Head.FC.Out }
