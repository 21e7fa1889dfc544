# Method: sigmoid focal loss (alpha = 1, gamma = 1), VideoLT's nonlinear
# classifier.
_base_ = ['./bce_nonlinear.py']

model = dict(cls_head=dict(loss_cls=dict(gamma=1.0)))
