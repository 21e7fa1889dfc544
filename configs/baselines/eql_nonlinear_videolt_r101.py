# VideoLT baseline row: EQL, VideoLT's random form (drop probability 1.76e-3
# on the negatives of tail classes).
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.518 overall mAP.
#   python tools/train.py configs/baselines/eql_nonlinear_videolt_r101.py
_base_ = [
    '../_base_/methods/eql_nonlinear.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
