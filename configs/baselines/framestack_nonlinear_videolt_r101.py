# VideoLT baseline row: FrameStack (focal loss, AP-driven frame stacking).
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.532 overall mAP.
#   python tools/train.py \
#       configs/baselines/framestack_nonlinear_videolt_r101.py
_base_ = ['bce_nonlinear_videolt_r101.py']

# the per-class training AP comes from FrameStackAPHook (default_runtime)
model = dict(
    cls_head=dict(loss_cls=dict(gamma=1.0)),
    data_preprocessor=dict(blending=dict(type='FrameStack', num_classes=1004)),
)
