# MobileOne-S0 trained from scratch on fashion-mnist-mini (10 classes, 28x28
# grayscale PNGs resized to 32x32): about 80.5% val top-1 after 10 epochs in
# 7.5 minutes on a 2-core CPU (13 minutes when the machine is busy). Run from
# the repository root (data_root is relative to it). To fine-tune on your own
# data, point data_root at a folder dataset (train/<class>/*, val/<class>/*),
# set num_classes, and set load_from to a checkpoint (a head of another size is
# left as initialized).
#
# Recipe notes: mmpretrain's initialization (Kaiming fan_out) gives the
# depthwise convs tiny weights, so the first iterations have gradient norms in
# the hundreds and lr 0.1 throws the loss up to >10 (PyTorch does the same);
# lr 0.04 with a 100-iteration warmup is stable (0.06 already dips at epoch
# 2; RandomResizedCrop, even with crop_ratio_range=(0.85, 1), costs 1-8
# points at this length). No EMAHook: with a schedule this short the averaged
# weights and averaged BN statistics disagree while the weights still move
# fast, and validation on them is at chance for the first epochs.
_base_ = [
    '../_base_/models/mobileone/mobileone_s0.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10))

data_preprocessor = dict(
    num_classes=10,
    mean=[72.94, 72.94, 72.94],
    std=[90.02, 90.02, 90.02],
    to_rgb=True)

data_root = '../shared/datasets/fashion-mnist-mini'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(32, 32), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(32, 32), backend='pillow'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=250,
    num_workers=2,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.04, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.025, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=10, eta_min=1e-4, by_epoch=True,
         begin=0, end=10, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(logger=dict(type='LoggerHook', interval=20))
randomness = dict(seed=0, deterministic=False)
