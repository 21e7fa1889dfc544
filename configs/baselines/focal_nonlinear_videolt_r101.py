# VideoLT baseline row: sigmoid focal loss (alpha = 1, gamma = 1).
# ResNet-101 features, nonlinear classifier. No published number for this row
# in docs/method.md.
#   python tools/train.py configs/baselines/focal_nonlinear_videolt_r101.py
_base_ = ['bce_nonlinear_videolt_r101.py']

model = dict(cls_head=dict(loss_cls=dict(gamma=1.0)))
