# VideoLT baseline row: LDAM-DRW (max margin 0.5, s = 30, re-weighting from
# epoch 50).
# ResNet-50 features, nonlinear classifier. Published (MEID paper, VideoLT
# ResNet-50): 0.502 overall mAP.
#   python tools/train.py configs/baselines/ldam_drw_nonlinear_videolt_r50.py
_base_ = [
    '../_base_/methods/ldam_drw_nonlinear.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
