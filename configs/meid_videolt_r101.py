# MEID on VideoLT, ResNet-101 ImageNet features (150 frames; train 60).
#   python tools/train.py configs/meid_videolt_r101.py
_base_ = [
    '_base_/models/meid_feature.py', '_base_/datasets/videolt_features.py',
    '_base_/schedules/meid_two_stage.py', '_base_/default_runtime.py'
]
