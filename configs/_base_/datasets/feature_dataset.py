# The structure every per-frame feature dataset base shares (VideoLT,
# CharadesLT, CharadesEgoLT, the synthetic data, your own): a
# MultiLabelFeatureDataset per split, read from
#   <data_root>/<train_split | val_split | test_split>   lists
#   <data_root>/<count_file>                             training counts
#   <data_root>/<feat_dir>/<video id>.npy                [frames, feat_dim]
#
# The data keys below are the dataset's settings, written once. The
# dataloaders do NOT repeat them: tools/train.py, tools/test.py and
# tools/data/check_dataset.py copy the final values (after child configs and
# --cfg-options) into the three loaders (meid_mmaction.utils.data_keys), so
# `data_root = 'data/mine'` in a child config or `--cfg-options
# feat_dir=features/ResNet50` takes effect. Setting one of them inside a
# loader as well, to another value, is an error. See docs/custom_dataset.md.
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

# SampleFeatureFrames.clip_len comes from train_clip_len / test_clip_len.
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
        pipeline=[
            dict(type='OpenFeatures'),
            dict(type='SampleFeatureFrames'),
            dict(type='LoadFeatureFrames'),
            dict(type='PackFeatureInputs'),
        ]
    ),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        pipeline=[
            dict(type='OpenFeatures'),
            dict(type='SampleFeatureFrames', test_mode=True),
            dict(type='LoadFeatureFrames'),
            dict(type='PackFeatureInputs'),
        ],
        test_mode=True,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(type='LongTailMAP')
test_evaluator = val_evaluator
