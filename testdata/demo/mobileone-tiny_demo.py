# A small custom MobileOne (the "tiny" arch of the reference fixtures: 10 classes,
# SE in the last block) on top of the s0 recipe. It shows how a user's own config
# inherits mmpretrain's files: the _base_ path is relative to this file.
_base_ = ['../../configs/mobileone/mobileone-s0_8xb32_in1k.py']

model = dict(
    backbone=dict(
        # The base arch is the string 's0': a dict cannot merge into a string, so
        # _delete_=True replaces it (mmengine semantics).
        arch=dict(
            _delete_=True,
            num_blocks=[2, 2, 2, 1],
            width_factor=[0.3, 0.3, 0.3, 0.5],
            num_conv_branches=[2, 2, 2, 2],
            num_se_blocks=[0, 0, 0, 1])),
    head=dict(num_classes=10, in_channels=256))

data_preprocessor = dict(num_classes=10)
