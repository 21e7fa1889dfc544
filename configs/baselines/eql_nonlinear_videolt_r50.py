# VideoLT baseline row: EQL, VideoLT's random form (drop probability 1.76e-3
# on the negatives of tail classes).
# ResNet-50 features, nonlinear classifier. Published (MEID paper, VideoLT
# ResNet-50): 0.502 overall mAP.
#   python tools/train.py configs/baselines/eql_nonlinear_videolt_r50.py
_base_ = [
    '../_base_/methods/eql_nonlinear.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
