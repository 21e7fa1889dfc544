"""NetVLAD baseline (VideoLT's released NetVLAD), BCE, CharadesLT
ResNet-101 features.

Target row: none published. Not yet reproduced.
"""

_base_ = ['./netvlad_focal_charadeslt_r101.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0))
)
