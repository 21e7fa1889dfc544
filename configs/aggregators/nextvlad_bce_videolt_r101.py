"""NeXtVLAD baseline, BCE, VideoLT ResNet-101 features.

Target row: none published on VideoLT; the BCE arm of
nextvlad_focal_videolt_r101.py. Not yet reproduced.
"""

_base_ = ['./nextvlad_focal_videolt_r101.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0))
)
