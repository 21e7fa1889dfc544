# The short schedule of the synthetic nonlinear demos: 12 epochs instead of
# 100 need a 10x larger lr (with 1e-3 the head is still at chance after 12
# epochs); lr x0.1 at epochs 8 and 10.
_base_ = ['./adam_100e.py']

optim_wrapper = dict(optimizer=dict(lr=1e-2))
train_cfg = dict(max_epochs=12, val_interval=4)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 10], gamma=0.1)
]
