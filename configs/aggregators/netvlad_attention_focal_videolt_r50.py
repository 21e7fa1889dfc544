"""MOVE's aggregator baseline (NetVLAD-style + attention pooling, nonlinear
classifier) with focal loss (alpha = gamma = 1); VideoLT ResNet-50
features.

Target row: none published with focal loss (MOVE's BCE version: 0.676
overall, netvlad_attention_bce_videolt_r50.py). Not yet reproduced.
"""

_base_ = [
    '../_base_/methods/focal_netvlad_attention.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
