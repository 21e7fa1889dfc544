# Paper row: CharadesEgoLT / ResNet-101 (NeXtVLAD) / FrameStack (focal
# loss). Published (docs/method.md): 0.152 overall / 0.237 head / 0.131
# medium / 0.080 tail mAP.
#   python tools/train.py \
#       configs/baselines/framestack_nextvlad_charadesegolt_r101.py
_base_ = ['../aggregators/nextvlad_focal_charadesegolt_r101.py']

model = dict(
    data_preprocessor=dict(blending=dict(type='FrameStack', num_classes=157))
)
