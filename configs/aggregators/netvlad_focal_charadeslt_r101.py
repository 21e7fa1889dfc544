"""NetVLAD baseline (VideoLT's released NetVLAD), focal loss, CharadesLT
ResNet-101 features.

Target row: none published (the CharadesLT rows use NeXtVLAD,
nextvlad_focal_charadeslt_r101.py, 0.113 overall with FrameStack). Not yet
reproduced.
"""

_base_ = [
    '../_base_/models/netvlad_feature.py',
    '../_base_/datasets/charadeslt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
