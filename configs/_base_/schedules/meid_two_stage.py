# MEID's two training stages in one run (docs/method.md, "Training").
# Stage 1: expert 1, natural sampling, Adam lr 1e-3, 100 epochs, x0.1 at 30
# and 60. Stage 2: expert 2 (expert 1 frozen), class-balanced sampling, lr
# 1e-4, 100 epochs, x0.1 at 30 and 60 counted from the stage start.
# The loop sets the lr itself (param_scheduler must stay empty). Run one
# stage alone with --cfg-options train_cfg.stages="(1,)" (or "(2,)" together
# with load_from=<stage-1 checkpoint>).
train_cfg = dict(
    type='TwoStageTrainLoop',
    stage1=dict(max_epochs=100, lr=1e-3, milestones=[30, 60], gamma=0.1),
    stage2=dict(
        max_epochs=100,
        lr=1e-4,
        milestones=[30, 60],
        gamma=0.1,
        sampler=dict(type='ClassBalancedSampler'),
    ),
    stages=(1, 2),
    val_begin=1,
    val_interval=10,
)  # and always after the last epoch of each stage
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    # OptimWrapper that logs the gradient norm at logging steps only (no
    # float(grad_norm) GPU sync per step); clipping is OptimWrapper's
    type='DeferredLogOptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3),
    # gradient-norm clipping at 20 (VideoLT habit); set to None to disable
    clip_grad=dict(max_norm=20, norm_type=2),
)
param_scheduler = []

# each stage leaves one expert without gradients
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True
)

# lr above is for batch size 128 on one device.
auto_scale_lr = dict(enable=False, base_batch_size=128)
