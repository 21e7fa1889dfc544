# MEID on CharadesEgoLT, ResNet-101 ImageNet features (200 frames; train 60).
_base_ = [
    '_base_/models/meid_feature.py',
    '_base_/datasets/charadesegolt_features.py',
    '_base_/schedules/meid_two_stage.py',
    '_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
