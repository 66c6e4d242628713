# A 10-class MobileOne small enough for unit tests: the s0 recipe with a
# custom arch dict (shared fixture "tiny", see ../../../shared/fixtures/manifest.json).
_base_ = '../../configs/mobileone/mobileone-s0_8xb32_in1k.py'

model = dict(
    backbone=dict(
        # arch is a string in the base; _delete_ replaces it instead of
        # merging a dict into a str (which mmengine rejects).
        arch=dict(
            _delete_=True,
            num_blocks=[2, 2, 2, 1],
            width_factor=[0.3, 0.3, 0.3, 0.5],
            num_conv_branches=[2, 2, 2, 2],
            num_se_blocks=[0, 0, 0, 1])),
    head=dict(num_classes=10, in_channels=256))
data_preprocessor = dict(num_classes=10)
