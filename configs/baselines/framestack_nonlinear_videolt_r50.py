# VideoLT baseline row: FrameStack (focal loss, AP-driven frame stacking).
# ResNet-50 features, nonlinear classifier. Published (MEID paper, VideoLT
# ResNet-50): 0.516 overall mAP.
#   python tools/train.py configs/baselines/framestack_nonlinear_videolt_r50.py
_base_ = [
    '../_base_/methods/framestack_nonlinear.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
