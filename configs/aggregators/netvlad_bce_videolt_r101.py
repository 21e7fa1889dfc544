"""NetVLAD baseline (VideoLT's released NetVLAD), BCE, VideoLT ResNet-101
features.

Target row: none published with BCE (docs/method.md lists VideoLT /
ResNet-101 / FrameStack + NetVLAD, 0.670 overall, with focal loss and
FrameStack). The BCE arm of the NetVLAD baseline. Not yet reproduced.
"""

_base_ = ['./netvlad_focal_videolt_r101.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0))
)
