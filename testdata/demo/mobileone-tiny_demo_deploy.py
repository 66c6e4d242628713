# The reparameterized (deploy) graph of mobileone-tiny_demo.py.
_base_ = ['./mobileone-tiny_demo.py']

model = dict(backbone=dict(deploy=True))
