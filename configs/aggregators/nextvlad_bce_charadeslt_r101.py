"""NeXtVLAD baseline, BCE, CharadesLT ResNet-101 features.

Target row: none published with BCE (docs/method.md: CharadesLT FrameStack
with NeXtVLAD, 0.113 overall, focal loss). Not yet reproduced.
"""

_base_ = [
    '../_base_/methods/bce_nextvlad.py',
    '../_base_/datasets/charadeslt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
