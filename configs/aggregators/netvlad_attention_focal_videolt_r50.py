"""MOVE's aggregator baseline (NetVLAD-style + attention pooling, nonlinear
classifier) with focal loss (alpha = gamma = 1); VideoLT ResNet-50
features.

Target row: none published with focal loss (MOVE's BCE version: 0.676
overall, netvlad_attention_bce_videolt_r50.py). Not yet reproduced.
"""

_base_ = ['./netvlad_attention_bce_videolt_r50.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=1.0))
)
