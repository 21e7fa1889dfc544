"""MEID on VideoLT, ResNet-50 ImageNet features (150 frames per video;
training draws 60), weighted-mean pooling.

Target row (docs/method.md): VideoLT / ResNet-50 / MEID, 0.619 overall /
0.750 head / 0.661 medium / 0.524 tail mAP. Not yet reproduced.
"""
_base_ = [
    '_base_/models/meid_feature.py', '_base_/datasets/videolt_features.py',
    '_base_/schedules/meid_two_stage.py', '_base_/default_runtime.py'
]

feat_dir = 'features/ResNet50'
