# CharadesLT with ResNet-101 ImageNet features of 200 uniformly sampled frames.
# Build the lists with tools/data/build_charades_lt.py (docs/data.md). Layout:
# data/charadeslt/{train,val,test}.lst, data/charadeslt/count-labels-train.lst,
# data/charadeslt/features/ResNet101/<video id>.npy ([200, 2048]).
# Data keys: feature_dataset.py and docs/custom_dataset.md.
_base_ = ['./feature_dataset.py']

dataset_type = 'CharadesLTDataset'
data_root = 'data/charadeslt'
feat_dir = 'features/ResNet101'
count_file = 'count-labels-train.lst'
num_classes = 157
feat_dim = 2048
head_thr = 100
tail_thr = 20
train_split = 'train.lst'
val_split = 'val.lst'
test_split = 'test.lst'
num_frames = 200
train_clip_len = 60
test_clip_len = 200

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
