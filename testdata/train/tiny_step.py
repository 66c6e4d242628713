# One training step of the tiny MobileOne of the shared fixtures, reachable
# from the CLI (pkg/cmd/train tests): the fixture batch (step_data, 8 PNGs of
# batch_u8_bgr.bin in fixture order with their labels), a deterministic
# pipeline (ResizeEdge 64 + CenterCrop 64 is the identity on 64x64 images),
# batch = dataset size, no shuffle, one iteration. Starting from
# testdata/checkpoint/tiny_train.pth, the saved iter_1.pth must equal
# tiny_step1_base_lr.pth; with the warmup schedule (--cfg-options
# param_scheduler=...) tiny_step1_warmup_iter0.pth. Paths are relative to the
# repository root.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='MobileOne',
        arch=dict(num_blocks=[2, 2, 2, 1], width_factor=[0.3, 0.3, 0.3, 0.5],
                  num_conv_branches=[2, 2, 2, 2], num_se_blocks=[0, 0, 0, 1]),
        out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead', num_classes=10, in_channels=256,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))
data_preprocessor = dict(
    num_classes=10, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
data_root = 'testdata/train/step_data'
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(
        type='CustomDataset', data_root=data_root, ann_file='meta/train.txt', data_prefix='train',
        metainfo=dict(classes=('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')),
        pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = []
train_cfg = dict(by_epoch=False, max_iters=1)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False), logger=dict(type='LoggerHook', interval=1))
load_from = 'testdata/checkpoint/tiny_train.pth'
randomness = dict(seed=0)
