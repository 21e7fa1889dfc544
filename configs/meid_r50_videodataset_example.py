# MEID on raw videos: mmaction's Recognizer2D + ResNet-50 + MEIDHead on
# mmaction's VideoDataset (Kinetics-style list `<video path> <label>`).
# The backbone maps [B * N, 2048, h, w] of N = 8 frames go to MEIDHead with
# num_segs = N; stage 2 also freezes the backbone (requires_grad=False, eval).
# VideoDataset publishes no head/tail class grouping, so the distillation
# loss is off here (loss_distill=None); the feature datasets publish one.
_base_ = ['_base_/schedules/meid_two_stage.py', '_base_/default_runtime.py']

num_classes = 400
num_frames = 8
model = dict(
    type='Recognizer2D',
    backbone=dict(
        type='ResNet',
        depth=50,
        pretrained=None,  # e.g. 'torchvision://resnet50' to fine-tune
        norm_eval=False,
    ),
    cls_head=dict(
        type='MEIDHead',
        num_classes=num_classes,
        in_channels=2048,
        hidden_channels=512,
        # one view = the num_frames frames of one crop: test-time ThreeCrop
        # / TenCrop / twice_sample views are scored separately, averaged
        frames_per_view=num_frames,
        beta=0.5,
        loss_cls=dict(type='MultiLabelFocalLoss', gamma=1.0, alpha=1.0),
        loss_distill=None,
    ),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCHW',
    ),
)

dataset_type = 'VideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='SampleFrames', clip_len=1, frame_interval=1, num_clips=num_frames
    ),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(
        type='MultiScaleCrop',
        input_size=224,
        scales=(1, 0.875, 0.75, 0.66),
        random_crop=False,
        max_wh_scale_gap=1,
    ),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='SampleFrames',
        clip_len=1,
        frame_interval=1,
        num_clips=num_frames,
        test_mode=True,
    ),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler'),  # shuffles
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        test_mode=True,
    ),
)
test_dataloader = val_dataloader

# groups from the training list's class counts (thresholds: an example)
val_evaluator = dict(
    type='LongTailMAP',
    train_ann_file=ann_file_train,
    train_ann_format='video',
    num_classes=num_classes,
    head_thr=700,
    tail_thr=400,
    topk=(1, 5),
)
test_evaluator = val_evaluator

train_cfg = dict(
    stage1=dict(max_epochs=50, lr=1e-4, milestones=[20, 40]),
    stage2=dict(max_epochs=20, lr=1e-4, milestones=[10, 15]),
    val_interval=5,
)
auto_scale_lr = dict(enable=False, base_batch_size=16)
