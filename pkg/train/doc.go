// Package train is mmpretrain's tools/train.py for MobileOne on the CPU:
// the losses of LinearClsHead (LabelSmoothLoss, CrossEntropyLoss), PyTorch's
// SGD, Adam and AdamW with mmengine's paramwise_cfg param groups, mmengine's
// parameter schedulers in their recursive ("chainable") form, and
// mmengine's Runner: the epoch/iteration loop calling hooks (IterTimerHook,
// LoggerHook, ParamSchedulerHook, CheckpointHook, DistSamplerSeedHook,
// EMAHook, SwitchRecipeHook) with validation, logging, checkpoints that
// mmengine can read and resume from, and a plot. The run comes as a Spec of
// objects that pkg/setup builds from a config; this package reads none.
//
// Everything random takes an explicit seed or *rand.Rand; there is no global
// state. The backward pass itself lives in pkg/model (ForwardTrain,
// TrainPass.Backward).
package train
