# The arch of timm_unfused.pth / timm_fused.pth (gen_fixtures.py): timm's
# ByobNet(_mobileone_bcfg(d=(1, 1, 2, 1), wf=(0.25, 0.5, 0.25, 0.25),
# se_blocks=(0, 0, 1, 1), num_conv_branches=2), stem_type='one', stem_chs=16),
# num_classes=10.
_base_ = ['../../configs/mobileone/mobileone-s0_8xb32_in1k.py']

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            num_blocks=[1, 1, 2, 1],
            width_factor=[0.25, 0.5, 0.25, 0.25],
            num_conv_branches=[2, 2, 2, 2],
            num_se_blocks=[0, 0, 1, 1])),
    head=dict(num_classes=10, in_channels=128))

data_preprocessor = dict(num_classes=10)
