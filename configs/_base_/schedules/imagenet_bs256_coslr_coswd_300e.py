# Optimizer.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001))

# Learning-rate and weight-decay schedules.
param_scheduler = [
    # linear warm-up over the first 5 epochs, stepped per iteration
    dict(
        type='LinearLR',
        start_factor=0.001,
        by_epoch=True,
        begin=0,
        end=5,
        # update by iter
        convert_to_iter_based=True),
    # cosine decay of the learning rate for the remaining epochs
    dict(
        type='CosineAnnealingLR',
        T_max=295,
        eta_min=1.0e-6,
        by_epoch=True,
        begin=5,
        end=300),
    # cosine schedule of the weight decay
    dict(
        type='CosineAnnealingParamScheduler',
        param_name='weight_decay',
        eta_min=0.00001,
        by_epoch=True,
        begin=0,
        end=300)
]

# Train / val / test loops.
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Used only with --auto-scale-lr: the batch size the LR above was tuned for.
auto_scale_lr = dict(base_batch_size=256)
