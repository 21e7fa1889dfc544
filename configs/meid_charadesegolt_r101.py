"""MEID + NeXtVLAD on CharadesEgoLT, ResNet-101 ImageNet features of 200
uniformly sampled frames (training draws 60, testing takes all 200).

Target row (docs/method.md): CharadesEgoLT / ResNet-101 (NeXtVLAD) / MEID,
0.197 overall / 0.280 head / 0.179 medium / 0.118 tail mAP. Not yet
reproduced. Same model and settings as meid_charadeslt_r101.py, on the
CharadesEgoLT data (built with tools/data/build_charades_lt.py --preset
charadesego, docs/data.md).
MEID variant: the paper's, as in meid_videolt_r101.py (see there why).
Recipe: the paper's text (batch 128, 60 training frames, lr 1e-3 / 1e-4);
the released scripts' run (its batch, frames, lr, SyncBN, FrameStack) as a
command line, and every difference: docs/reproduction.md.
"""

_base_ = [
    '_base_/methods/meid_nextvlad.py',
    '_base_/datasets/charadesegolt_features.py',
    '_base_/schedules/meid_two_stage.py',
    '_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
