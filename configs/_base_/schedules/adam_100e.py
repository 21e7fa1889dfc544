# Adam, lr 1e-3, 100 epochs, lr x0.1 at epochs 30 and 60 (docs/method.md,
# stage 1).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    # OptimWrapper that logs the gradient norm at logging steps only (no
    # float(grad_norm) GPU sync per step); clipping is OptimWrapper's
    type='DeferredLogOptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3),
    clip_grad=dict(max_norm=20, norm_type=2),
)

param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60], gamma=0.1)
]

# lr above is for batch size 128 on one device.
auto_scale_lr = dict(enable=False, base_batch_size=128)
