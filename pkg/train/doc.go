// Package train is mmpretrain's tools/train.py for MobileOne on the CPU:
// the losses of LinearClsHead (LabelSmoothLoss, CrossEntropyLoss), PyTorch's
// SGD with mmengine's paramwise_cfg param groups, mmengine's parameter
// schedulers in their recursive ("chainable") form, the EMAHook, the
// SwitchRecipeHook, and the epoch/iteration loop with validation, logging,
// checkpoints that mmengine can read and resume from, and a plot.
//
// Everything random takes an explicit seed or *rand.Rand; there is no global
// state. The backward pass itself lives in pkg/model (ForwardTrain,
// TrainPass.Backward).
package train
