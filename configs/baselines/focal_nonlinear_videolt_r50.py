# VideoLT baseline row: sigmoid focal loss (alpha = 1, gamma = 1).
# ResNet-50 features, nonlinear classifier. No published ResNet-50 number for
# this row.
#   python tools/train.py configs/baselines/focal_nonlinear_videolt_r50.py
_base_ = [
    '../_base_/methods/focal_nonlinear.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
