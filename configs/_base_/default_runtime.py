default_scope = 'mmaction'
custom_imports = dict(imports=['meid_mmaction'], allow_failed_imports=False)

default_hooks = dict(
    # RuntimeInfoHook that records the losses (and the optimizer wrapper's
    # gradient norm) at logging steps only: no GPU sync per training step
    runtime_info=dict(type='DeferredRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # CheckpointHook that also keeps the best checkpoint of each MEID stage:
    # best_<metric>_epoch_<e>.pth is the best of the whole run (any stage),
    # best_<metric>_stage<s>_epoch_<e>.pth the best within stage s
    checkpoint=dict(
        type='StageCheckpointHook',
        interval=1,
        save_best='auto',
        max_keep_ckpts=3,
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
)

# DataKeysCheckHook: a data key (data_root, feat_dir, ...) set in a child
# config or --cfg-options after a base wrote the loaders reaches them only
# through meid_mmaction's tools; elsewhere (MMAction2's tools/train.py,
# Runner.from_cfg) the run stops before training, naming the key and the fix.
# Frame draws as a function of (seed, epoch, sample): exact on resume and
# independent of the worker count (needs non-persistent training workers).
# LongTailLossHook hands the training split's class counts / groups and the
# epoch (DRW) to the losses that use them; FrameStackAPHook measures the
# per-class training AP that FrameStack uses (each does nothing when no
# module of the model needs it). EvalContextHook: metrics learn which list /
# checkpoint they evaluate (LongTailMAP names its per-class CSV after them).
# ExpertCombinationHook: MEIDHead(inference='auto' / 'auto_group') chooses
# how to combine its experts on the validation split after stage-2 epochs.
# RNGStateHook saves torch / numpy / random states of every rank in each
# checkpoint and restores them on --resume (exact resume with dropout);
# NonFiniteLossHook stops at a NaN / inf loss or gradient (action='skip'
# skips such steps instead).
custom_hooks = [
    dict(type='DataKeysCheckHook'),
    dict(type='RNGStateHook'),
    dict(type='NonFiniteLossHook'),
    dict(type='FrameSamplingSeedHook'),
    dict(type='LongTailLossHook'),
    dict(type='FrameStackAPHook'),
    dict(type='EvalContextHook'),
    dict(type='ExpertCombinationHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)

visualizer = dict(
    type='ActionVisualizer', vis_backends=[dict(type='LocalVisBackend')]
)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
