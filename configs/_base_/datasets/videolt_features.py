# VideoLT with pre-extracted per-frame features ([150, 2048] per video).
# Layout (docs/data.md): data/videolt/{train,validate,test}.lst,
# data/videolt/count-labels-train.lst, data/videolt/features/<backbone>/.
# data_prefix is relative to data_root. Children switch the backbone by
# overriding data_prefix of the three loaders.
dataset_type = 'VideoLTDataset'
data_root = 'data/videolt'
feat_dir = 'features/ResNet101'
count_file = 'count-labels-train.lst'
num_frames = 150
train_clip_len = 60

train_pipeline = [
    dict(type='OpenFeatures'),
    dict(type='SampleFeatureFrames', clip_len=train_clip_len),
    dict(type='LoadFeatureFrames'),
    dict(type='PackFeatureInputs')
]
test_pipeline = [
    dict(type='OpenFeatures'),
    dict(type='SampleFeatureFrames', clip_len=num_frames, test_mode=True),
    dict(type='LoadFeatureFrames'),
    dict(type='PackFeatureInputs')
]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=False,  # see FrameSamplingSeedHook
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.lst',
        count_file=count_file,
        data_prefix=dict(feat=feat_dir),
        feat_dim=2048,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='validate.lst',
        count_file=count_file,
        data_prefix=dict(feat=feat_dir),
        feat_dim=2048,
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='test.lst'))

val_evaluator = dict(type='LongTailMAP')
test_evaluator = dict(type='LongTailMAP')
