# Method: the NeXtVLAD baseline (models/nextvlad_feature.py) trained with
# sigmoid BCE (the focal loss with gamma = 0) instead of its focal loss: the
# BCE arm of the NeXtVLAD rows.
_base_ = ['../models/nextvlad_feature.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0))
)
