# Paper row: CharadesLT / ResNet-101 (NeXtVLAD) / FrameStack (focal loss).
# Published (docs/method.md): 0.113 overall / 0.194 head / 0.103 medium /
# 0.042 tail mAP.
#   python tools/train.py \
#       configs/baselines/framestack_nextvlad_charadeslt_r101.py
_base_ = ['../aggregators/nextvlad_focal_charadeslt_r101.py']

model = dict(
    data_preprocessor=dict(blending=dict(type='FrameStack', num_classes=157))
)
