# The reparameterized (deploy) graph of fmnist_demo.py.
_base_ = ['./fmnist_demo.py']

model = dict(backbone=dict(deploy=True))
