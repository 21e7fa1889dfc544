# Method: MOVE's aggregator baseline (NetVLAD-style + attention pooling,
# nonlinear classifier, models/netvlad_attention_feature.py) with focal loss
# (alpha = gamma = 1) instead of its BCE.
_base_ = ['../models/netvlad_attention_feature.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=1.0))
)
