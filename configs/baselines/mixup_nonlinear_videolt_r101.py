# VideoLT baseline row: mixup (lambda ~ Beta(1, 1)).
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.495 overall mAP.
#   python tools/train.py configs/baselines/mixup_nonlinear_videolt_r101.py
_base_ = [
    '../_base_/methods/mixup_nonlinear.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
