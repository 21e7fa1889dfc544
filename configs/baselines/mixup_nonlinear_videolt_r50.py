# VideoLT baseline row: mixup (lambda ~ Beta(1, 1)).
# ResNet-50 features, nonlinear classifier. Published (MEID paper, VideoLT
# ResNet-50): 0.484 overall mAP.
#   python tools/train.py configs/baselines/mixup_nonlinear_videolt_r50.py
_base_ = [
    '../_base_/methods/mixup_nonlinear.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
