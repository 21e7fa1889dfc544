# The structure every per-frame feature dataset base shares (VideoLT,
# CharadesLT, CharadesEgoLT, the synthetic data, your own): a
# MultiLabelFeatureDataset per split, read from
#   <data_root>/<train_split | val_split | test_split>   lists
#   <data_root>/<count_file>                             training counts
#   <data_root>/<feat_dir>/<video id>.npy                [frames, feat_dim]
#
# The data keys below are the dataset's settings, written once at the top
# of a dataset base. The base then writes them into the three dataloaders
# (the block "The loaders" below, repeated in every dataset base), so the
# config runs through MMAction2's own tools/train.py / tools/test.py and a
# bare Runner.from_cfg, and records the values in loader_data_keys.
# mmengine evaluates a base when it reads it: a child config's
# `data_root = 'data/mine'` (or --cfg-options feat_dir=features/ResNet50)
# changes the key, not the loaders the base wrote. meid_mmaction's
# tools/train.py, tools/test.py and tools/data/check_dataset.py copy such a
# key into the loaders (meid_mmaction.utils.data_keys); with MMAction2's
# tools the run stops before training (DataKeysCheckHook) naming the key and
# the loader values to set. See docs/custom_dataset.md.
dataset_type = 'MultiLabelFeatureDataset'
data_root = None  # required
feat_dir = 'features'
count_file = None  # None: count the classes of train_split
num_classes = None  # required
feat_dim = None  # None: not checked
head_thr = 100  # head: > head_thr training videos
tail_thr = 20  # tail: <= tail_thr training videos
train_split = 'train.lst'
val_split = 'val.lst'
test_split = 'test.lst'
train_clip_len = 60  # frames drawn at random per training video
test_clip_len = 150  # uniformly spaced frames per val / test video
num_frames = None  # frames stored per video, checked by check_dataset

# The loaders, written from the data keys above (the same block in every
# dataset base; val / test count the classes of train_split when there is
# no count_file), and the values they were written with.
_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(feat=feat_dir),
    count_file=count_file,
    num_classes=num_classes,
    feat_dim=feat_dim,
    head_thr=head_thr,
    tail_thr=tail_thr,
)
train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=False,  # see FrameSamplingSeedHook
    # shuffle=True is DefaultSampler's default; leaving it out lets a child
    # swap the sampler with `sampler=dict(type='ClassBalancedSampler')`
    sampler=dict(type='DefaultSampler'),
    # pseudo_collate, except that a batched read / feature bank batch stays
    # one batch (labels [B, C], no per-video data sample in the step)
    collate_fn=dict(type='feature_collate'),
    dataset=dict(
        _dataset,
        ann_file=train_split,
        pipeline=[
            dict(type='OpenFeatures'),
            dict(type='SampleFeatureFrames', clip_len=train_clip_len),
            dict(type='LoadFeatureFrames'),
            dict(type='PackFeatureInputs'),
        ],
    ),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        _dataset,
        ann_file=val_split,
        train_ann_file=train_split,
        pipeline=[
            dict(type='OpenFeatures'),
            dict(
                type='SampleFeatureFrames',
                clip_len=test_clip_len,
                test_mode=True,
            ),
            dict(type='LoadFeatureFrames'),
            dict(type='PackFeatureInputs'),
        ],
        test_mode=True,
    ),
)
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file=test_split),
)
loader_data_keys = dict(
    dataset_type=dataset_type,
    data_root=data_root,
    feat_dir=feat_dir,
    count_file=count_file,
    num_classes=num_classes,
    feat_dim=feat_dim,
    head_thr=head_thr,
    tail_thr=tail_thr,
    train_split=train_split,
    val_split=val_split,
    test_split=test_split,
    train_clip_len=train_clip_len,
    test_clip_len=test_clip_len,
)
del _dataset

val_evaluator = dict(type='LongTailMAP')
test_evaluator = val_evaluator
