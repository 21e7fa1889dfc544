# The VideoLT nonlinear baseline on the synthetic demo data (CPU, minutes).
_base_ = [
    '_base_/models/nonlinear_feature.py',
    '_base_/datasets/synthetic_lt.py',
    '_base_/schedules/adam_12e_synthetic.py',
    '_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=50, in_channels=96))
default_hooks = dict(logger=dict(interval=10))
