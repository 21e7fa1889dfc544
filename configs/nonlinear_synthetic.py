# The VideoLT nonlinear baseline on the synthetic demo data (CPU, minutes).
_base_ = [
    '_base_/models/nonlinear_feature.py',
    '_base_/datasets/synthetic_lt.py',
    '_base_/schedules/adam_100e.py',
    '_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=50, in_channels=96))

# 12 epochs instead of 100: the short demo schedule needs a 10x larger lr
# (with 1e-3 the head is still at chance after 12 epochs).
optim_wrapper = dict(optimizer=dict(lr=1e-2))
train_cfg = dict(max_epochs=12, val_interval=4)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 10], gamma=0.1)
]
default_hooks = dict(logger=dict(interval=10))
