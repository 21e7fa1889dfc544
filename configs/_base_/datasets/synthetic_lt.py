# The synthetic long-tailed multi-label demo data (VideoLT layout), made by
#   python tools/data/generate_synthetic.py data/synthetic_lt
# 50 classes, 96-d features, 40-60 frames per video, head > 100 / tail <= 20
# training videos (thresholds recorded in data/synthetic_lt/meta.json).
dataset_type = 'MultiLabelFeatureDataset'
data_root = 'data/synthetic_lt'
feat_dir = 'features'
count_file = 'count-labels-train.lst'
num_classes = 50
feat_dim = 96
head_thr = 100
tail_thr = 20
train_clip_len = 24
test_clip_len = 48

train_pipeline = [
    dict(type='OpenFeatures'),
    dict(type='SampleFeatureFrames', clip_len=train_clip_len),
    dict(type='LoadFeatureFrames'),
    dict(type='PackFeatureInputs')
]
test_pipeline = [
    dict(type='OpenFeatures'),
    dict(type='SampleFeatureFrames', clip_len=test_clip_len, test_mode=True),
    dict(type='LoadFeatureFrames'),
    dict(type='PackFeatureInputs')
]
dataset = dict(
    type=dataset_type,
    data_root=data_root,
    count_file=count_file,
    num_classes=num_classes,
    head_thr=head_thr,
    tail_thr=tail_thr,
    data_prefix=dict(feat=feat_dir),
    feat_dim=feat_dim)

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=False,  # see FrameSamplingSeedHook
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset, ann_file='train.lst', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **dataset,
        ann_file='validate.lst',
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='test.lst'))

val_evaluator = dict(type='LongTailMAP')
test_evaluator = dict(type='LongTailMAP')
