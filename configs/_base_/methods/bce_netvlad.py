# Method: the NetVLAD baseline (VideoLT's released NetVLAD,
# models/netvlad_feature.py) trained with sigmoid BCE (the focal loss with
# gamma = 0) instead of its focal loss: the BCE arm of the NetVLAD rows.
_base_ = ['../models/netvlad_feature.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0))
)
