# CharadesLT with ResNet-101 ImageNet features of 200 uniformly sampled frames.
# Build the lists with tools/data/build_charades_lt.py (docs/data.md). Layout:
# data/charadeslt/{train,val,test}.lst, data/charadeslt/count-labels-train.lst,
# data/charadeslt/features/ResNet101/<video id>.npy ([200, 2048]).
dataset_type = 'CharadesLTDataset'
data_root = 'data/charadeslt'
feat_dir = 'features/ResNet101'
count_file = 'count-labels-train.lst'
num_frames = 200
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
        ann_file='val.lst',
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
