"""NeXtVLAD baseline (the Charades runs' NeXtVLAD), focal loss, VideoLT
ResNet-101 features.

Target row: none published on VideoLT; the comparison arm of
netvlad_focal_videolt_r101.py (same head size, 1024, and schedule). Not yet
reproduced.
"""

_base_ = [
    '../_base_/models/nextvlad_feature.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
