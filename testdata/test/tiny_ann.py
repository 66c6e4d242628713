# As tiny_custom.py, in annotation-file mode: meta/val.txt under data_root
# lists "<path relative to data_prefix> <label>" lines.
_base_ = ['./tiny_custom.py']

test_dataloader = dict(dataset=dict(ann_file='meta/val.txt'))
