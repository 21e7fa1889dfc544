# VideoLT baseline row "plain BCE": ResNet-101 ImageNet features, VideoLT's
# nonlinear classifier, sigmoid BCE. Published (docs/method.md, "The
# baselines the field compares against"): 0.516 overall mAP.
#   python tools/train.py configs/baselines/bce_nonlinear_videolt_r101.py
# Every other baseline method (configs/_base_/methods/) is a small diff over
# this one (bce_nonlinear.py).
_base_ = [
    '../_base_/methods/bce_nonlinear.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
