# VideoLT with pre-extracted per-frame features ([150, 2048] per video).
# Layout (docs/data.md): data/videolt/{train,validate,test}.lst,
# data/videolt/count-labels-train.lst, data/videolt/features/<backbone>/.
# Switch the backbone with feat_dir (features/ResNet50, features/TSM-R50),
# e.g. --cfg-options feat_dir=features/ResNet50. Data keys:
# feature_dataset.py and docs/custom_dataset.md.
_base_ = ['./feature_dataset.py']

dataset_type = 'VideoLTDataset'
data_root = 'data/videolt'
feat_dir = 'features/ResNet101'
count_file = 'count-labels-train.lst'
num_classes = 1004
feat_dim = 2048
head_thr = 500
tail_thr = 100
train_split = 'train.lst'
val_split = 'validate.lst'
test_split = 'test.lst'
num_frames = 150
train_clip_len = 60
test_clip_len = 150

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
    dataset=dict(
        _dataset,
        ann_file=val_split,
        train_ann_file=train_split,
        pipeline=_test_pipeline,
    )
)
test_dataloader = dict(
    dataset=dict(
        _dataset,
        ann_file=test_split,
        train_ann_file=train_split,
        pipeline=_test_pipeline,
    )
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
