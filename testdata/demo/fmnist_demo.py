# The model of `make demo`: a small MobileOne (a custom arch dict: 1-2 blocks
# per stage at half the s0 width, one conv branch, no SE; 76,618 parameters)
# trained from scratch on the bundled Fashion-MNIST slice (testdata/fashion-mnist:
# 3,000 train and 961 val 28x28 grayscale PNGs, resized to 32x32) with the
# recipe of configs/mobileone/mobileone-s0_fashionmnist.py, 12 epochs.
# About 40 s on 2 idle cores; val top-1 82.6-84.2% over seeds 0-2.
# Run from the repository root (data_root is relative to it):
#
#   mobileone train testdata/demo/fmnist_demo.py --work-dir work_dirs/fmnist_demo
_base_ = ['../../configs/mobileone/mobileone-s0_fashionmnist.py']

model = dict(
    backbone=dict(
        # The base arch is the string 's0': _delete_=True replaces it with a
        # dict (mmengine semantics).
        arch=dict(
            _delete_=True,
            num_blocks=[1, 2, 2, 1],
            width_factor=[0.5, 0.5, 0.5, 0.5],
            num_conv_branches=[1, 1, 1, 1],
            num_se_blocks=[0, 0, 0, 0])),
    head=dict(in_channels=256))

data_root = 'testdata/fashion-mnist'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

# 47 iterations per epoch: a 50-iteration warmup, then cosine to 1e-4.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.025, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=12, eta_min=1e-4, by_epoch=True,
         begin=0, end=12, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=1)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=12))
