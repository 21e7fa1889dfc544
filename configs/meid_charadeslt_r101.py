"""MEID + NeXtVLAD on CharadesLT, ResNet-101 ImageNet features of 200
uniformly sampled frames (training draws 60, testing takes all 200).

Target row (docs/method.md): CharadesLT / ResNet-101 (NeXtVLAD) / MEID,
0.151 overall / 0.217 head / 0.151 medium / 0.076 tail mAP. Not yet
reproduced.

Model: MEID + NeXtVLAD, configs/_base_/methods/meid_nextvlad.py.

MEID variant: the paper's, as in meid_videolt_r101.py (see there why; the
variant chosen on validation has not been tried on CharadesLT features
either).
Recipe: the paper's text (batch 128, 60 training frames, lr 1e-3 / 1e-4);
the released scripts' run (its batch, frames, lr, SyncBN, FrameStack) as a
command line, and every difference: docs/reproduction.md.
"""

_base_ = [
    '_base_/methods/meid_nextvlad.py',
    '_base_/datasets/charadeslt_features.py',
    '_base_/schedules/meid_two_stage.py',
    '_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
