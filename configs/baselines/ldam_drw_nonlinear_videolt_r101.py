# VideoLT baseline row: LDAM-DRW (max margin 0.5, s = 30, re-weighting from
# epoch 50).
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.518 overall mAP.
#   python tools/train.py configs/baselines/ldam_drw_nonlinear_videolt_r101.py
_base_ = [
    '../_base_/methods/ldam_drw_nonlinear.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
