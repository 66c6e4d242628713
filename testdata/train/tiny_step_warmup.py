# tiny_step.py under the schedule of the upstream config the fixture was made
# with: LinearLR(start_factor=0.001) makes the first iteration's lr 1e-4
# (compare with tiny_step1_warmup_iter0.pth).
_base_ = ['tiny_step.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
]
