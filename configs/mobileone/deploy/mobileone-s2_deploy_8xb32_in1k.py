_base_ = ['../mobileone-s2_8xb32_in1k.py']

# Build the backbone in its re-parameterized (single-branch) form.
model = dict(backbone=dict(deploy=True))
