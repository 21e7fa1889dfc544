"""MOVE's aggregator baseline with focal loss (alpha = gamma = 1),
CharadesLT ResNet-101 features.

Target row: none published on CharadesLT. Not yet reproduced.
"""

_base_ = [
    '../_base_/methods/focal_netvlad_attention.py',
    '../_base_/datasets/charadeslt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
