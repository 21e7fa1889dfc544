"""MEID on VideoLT, TSM-ResNet-50 Kinetics features (150 frames per video;
training draws 60), weighted-mean pooling.

Target row (docs/method.md, MEID's supplementary): VideoLT / TSM-ResNet-50
/ MEID, 0.695 overall / 0.814 head / 0.739 medium / 0.600 tail mAP. Not yet
reproduced.
MEID variant: the paper's, as in meid_videolt_r101.py (see there why).
Recipe: the paper's text (batch 128, 60 training frames, lr 1e-3 / 1e-4);
the released scripts' run (its batch, frames, lr, SyncBN, FrameStack) as a
command line, and every difference: docs/reproduction.md.
"""

_base_ = [
    '_base_/models/meid_feature.py',
    '_base_/datasets/videolt_tsm_r50_features.py',
    '_base_/schedules/meid_two_stage.py',
    '_base_/default_runtime.py',
]
