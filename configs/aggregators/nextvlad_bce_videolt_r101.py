"""NeXtVLAD baseline, BCE, VideoLT ResNet-101 features.

Target row: none published on VideoLT; the BCE arm of
nextvlad_focal_videolt_r101.py. Not yet reproduced.
"""

_base_ = [
    '../_base_/methods/bce_nextvlad.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
