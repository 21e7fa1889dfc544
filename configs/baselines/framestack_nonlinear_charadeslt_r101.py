# CharadesLT baseline row: FrameStack (focal loss, AP-driven frame stacking).
# ResNet-101 features, nonlinear classifier. Published (MEID paper,
# CharadesLT): 0.113 overall mAP, but with NeXtVLAD aggregation
# (framestack_nextvlad_charadeslt_r101.py); no published number with the
# nonlinear classifier.
#   python tools/train.py \
#       configs/baselines/framestack_nonlinear_charadeslt_r101.py
_base_ = ['bce_nonlinear_charadeslt_r101.py']

# the per-class training AP comes from FrameStackAPHook (default_runtime)
model = dict(
    cls_head=dict(loss_cls=dict(gamma=1.0)),
    data_preprocessor=dict(blending=dict(type='FrameStack', num_classes=157)),
)
