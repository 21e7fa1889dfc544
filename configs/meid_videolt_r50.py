"""MEID on VideoLT, ResNet-50 ImageNet features (150 frames per video;
training draws 60), weighted-mean pooling.

Target row (docs/method.md): VideoLT / ResNet-50 / MEID, 0.619 overall /
0.750 head / 0.661 medium / 0.524 tail mAP. Not yet reproduced.

MEID variant: the paper's, as in meid_videolt_r101.py (see there why).
Recipe: the paper's text (batch 128, 60 training frames, lr 1e-3 / 1e-4);
the released scripts' run (its batch, frames, lr, SyncBN, FrameStack) as a
command line, and every difference: docs/reproduction.md.
"""

_base_ = [
    '_base_/models/meid_feature.py',
    '_base_/datasets/videolt_r50_features.py',
    '_base_/schedules/meid_two_stage.py',
    '_base_/default_runtime.py',
]
