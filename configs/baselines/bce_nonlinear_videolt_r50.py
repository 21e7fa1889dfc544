# VideoLT baseline row "plain BCE" on ResNet-50 ImageNet features. No
# published ResNet-50 number for this row in docs/method.md.
#   python tools/train.py configs/baselines/bce_nonlinear_videolt_r50.py
_base_ = [
    '../_base_/methods/bce_nonlinear.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
