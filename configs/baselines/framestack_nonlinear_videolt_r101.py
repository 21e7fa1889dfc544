# VideoLT baseline row: FrameStack (focal loss, AP-driven frame stacking).
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.532 overall mAP.
#   python tools/train.py \
#       configs/baselines/framestack_nonlinear_videolt_r101.py
_base_ = [
    '../_base_/methods/framestack_nonlinear.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
