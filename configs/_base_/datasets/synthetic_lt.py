# The synthetic long-tailed multi-label demo data (VideoLT layout), made by
#   python tools/data/generate_synthetic.py data/synthetic_lt
# 50 classes, 96-d features, 40-60 frames per video, head > 100 / tail <= 20
# training videos (thresholds recorded in data/synthetic_lt/meta.json).
# Data keys: feature_dataset.py and docs/custom_dataset.md.
_base_ = ['./feature_dataset.py']

dataset_type = 'MultiLabelFeatureDataset'
data_root = 'data/synthetic_lt'
feat_dir = 'features'
count_file = 'count-labels-train.lst'
num_classes = 50
feat_dim = 96
head_thr = 100
tail_thr = 20
train_split = 'train.lst'
val_split = 'validate.lst'
test_split = 'test.lst'
num_frames = None  # 40-60
train_clip_len = 24
test_clip_len = 48

# The loaders, written from the data keys above (the block of
# feature_dataset.py), and the values they were written with.
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
_test_pipeline = [
    dict(type='OpenFeatures'),
    dict(type='SampleFeatureFrames', clip_len=test_clip_len, test_mode=True),
    dict(type='LoadFeatureFrames'),
    dict(type='PackFeatureInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
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
    num_workers=2,
    dataset=dict(
        _dataset,
        ann_file=val_split,
        train_ann_file=train_split,
        pipeline=_test_pipeline,
    ),
)
test_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(
        _dataset,
        ann_file=test_split,
        train_ann_file=train_split,
        pipeline=_test_pipeline,
    ),
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
del _dataset, _test_pipeline
