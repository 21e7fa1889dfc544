"""MOVE's aggregator baseline with focal loss (alpha = gamma = 1),
CharadesLT ResNet-101 features.

Target row: none published on CharadesLT. Not yet reproduced.
"""

_base_ = ['./netvlad_attention_bce_charadeslt_r101.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=1.0))
)
