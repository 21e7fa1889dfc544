# Method "plain BCE" on VideoLT's nonlinear classifier: sigmoid BCE (the
# focal loss with gamma = 0). Every other nonlinear baseline method of
# this folder is a small diff over this one. A row config
# (configs/baselines/<method>_nonlinear_<data>.py) puts a method of this
# folder next to a dataset base, the schedule and the runtime.
_base_ = ['../models/nonlinear_feature.py']

model = dict(
    cls_head=dict(loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0))
)
