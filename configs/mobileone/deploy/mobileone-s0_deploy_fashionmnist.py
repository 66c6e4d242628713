_base_ = ['../mobileone-s0_fashionmnist.py']

# Build the backbone in its re-parameterized (single-branch) form.
model = dict(backbone=dict(deploy=True))
