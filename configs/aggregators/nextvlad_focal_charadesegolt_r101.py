"""NeXtVLAD baseline, focal loss, CharadesEgoLT ResNet-101 features (200
frames per video; training draws 60, testing takes all 200).

Target row: none published without FrameStack; the natural-sampling arm of
the row CharadesEgoLT / ResNet-101 (NeXtVLAD) / FrameStack (0.152 overall),
whose one config is
configs/baselines/framestack_nextvlad_charadesegolt_r101.py. Not yet
reproduced.
"""

_base_ = [
    '../_base_/models/nextvlad_feature.py',
    '../_base_/datasets/charadesegolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
