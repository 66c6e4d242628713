# MobileOne-S2 classifier for ImageNet-1k.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='MobileOne', arch='s2', out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
        ),
        topk=(1, 5),
    ))
