# The arch of apple_unfused.pth.tar / apple_fused.pth.tar (gen_fixtures.py):
# Apple's MobileOne(num_blocks_per_stage=[1, 1, 2, 1],
# width_multipliers=(0.25, 0.25, 0.5, 0.25), use_se=True, num_classes=10).
_base_ = ['../../configs/mobileone/mobileone-s0_8xb32_in1k.py']

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            num_blocks=[1, 1, 2, 1],
            width_factor=[0.25, 0.25, 0.5, 0.25],
            num_conv_branches=[1, 1, 1, 1],
            num_se_blocks=[0, 0, 1, 1])),
    head=dict(num_classes=10, in_channels=128))

data_preprocessor = dict(num_classes=10)
