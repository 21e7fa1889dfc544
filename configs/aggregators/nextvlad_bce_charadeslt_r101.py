"""NeXtVLAD baseline, BCE, CharadesLT ResNet-101 features.

Target row: none published with BCE (docs/method.md: CharadesLT FrameStack
with NeXtVLAD, 0.113 overall, focal loss). Not yet reproduced.
"""

_base_ = ['./nextvlad_focal_charadeslt_r101.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0))
)
