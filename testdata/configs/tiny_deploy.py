_base_ = ['./tiny_train.py']

model = dict(backbone=dict(deploy=True))
