"""NetVLAD baseline (VideoLT's released NetVLAD), BCE, VideoLT ResNet-101
features.

Target row: none published with BCE (docs/method.md lists VideoLT /
ResNet-101 / FrameStack + NetVLAD, 0.670 overall, with focal loss and
FrameStack). The BCE arm of the NetVLAD baseline. Not yet reproduced.
"""

_base_ = [
    '../_base_/methods/bce_netvlad.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
