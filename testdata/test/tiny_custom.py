# The 10-class tiny MobileOne of testdata/demo evaluated on a CustomDataset in
# folder mode: fmnist/val/<class>/*.png (20 Fashion-MNIST images, 2 per class).
# data_root is relative to the working directory, as in mmpretrain; tests pass
# --data-root.
_base_ = ['../demo/mobileone-tiny_demo.py']

test_dataloader = dict(
    batch_size=4,
    dataset=dict(type='CustomDataset', data_root='testdata/test/fmnist', split=None, data_prefix='val'))
