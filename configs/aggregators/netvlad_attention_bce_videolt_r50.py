"""MOVE's aggregator baseline: NetVLAD-style layer + 4-head attention
pooling with a mean-frame query, concatenated, then VideoLT's nonlinear
classifier, BCE; VideoLT ResNet-50 features.

Target row (docs/method.md, "Other anchors"): MOVE's aggregator baseline
alone, VideoLT / ResNet-50, 0.676 overall mAP (head / medium / tail not
published). Not yet reproduced.
"""

_base_ = [
    '../_base_/models/netvlad_attention_feature.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
