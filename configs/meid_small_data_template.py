# MEID for a SMALL dataset of your own (thousands of training videos, not
# VideoLT's 180k): copy it, or make it the base of your config, and set the
# data keys below (docs/custom_dataset.md, "Template configs").
#
# Differences from the full recipe (configs/meid_videolt_r101.py):
# * no NetVLAD: both experts pool with their frame weights (weighted mean);
#   NetVLAD's projection alone has 134 M weights per expert at 2048-d;
# * a short schedule, 12 + 12 epochs, with 10x the paper's learning rates
#   (1e-2 / 1e-3 instead of 1e-3 / 1e-4): the paper's rates are for 100
#   epochs of ~1,400 steps each; with a short schedule of few steps they
#   leave the model under-trained (docs/custom_dataset.md, "Epochs and
#   learning rate");
# * batch size 64;
# * the MEID variant chosen in docs/benchmarks.md (issue 17): the
#   combination of the two experts chosen per head / medium / tail group on
#   YOUR validation split after stage 2 (inference='auto_group'; needs
#   val_split and head_thr / tail_thr).
# These are the settings of configs/meid_synthetic.py (tested to be equal),
# whose demo results are in the README.
_base_ = [
    '_base_/models/meid_feature.py',
    '_base_/datasets/feature_dataset.py',
    '_base_/schedules/meid_two_stage.py',
    '_base_/default_runtime.py',
]

# data keys: yours (docs/custom_dataset.md, "The data keys")
data_root = 'data/my_features'
feat_dir = 'features'
count_file = None  # None: count the classes of train_split
num_classes = 40
feat_dim = 2048
head_thr = 100  # head: more than 100 training videos
tail_thr = 20  # tail: at most 20
train_split = 'train.lst'
val_split = 'val.lst'
test_split = 'test.lst'
train_clip_len = 24  # random frames per training video
test_clip_len = 48  # uniformly spaced frames per val / test video

# The loaders, written from the data keys above (MMAction2's tools read the
# loaders; meid's tools also apply a data key changed later, e.g. by
# --cfg-options), and the values they were written with.
_dataset = dict(
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

# a child config that changes num_classes / feat_dim sets these again
model = dict(
    cls_head=dict(
        num_classes=num_classes,
        in_channels=feat_dim,
        inference='auto_group',
        auto_fallback='prob_mix',
        inference_weight=0.5,
    )
)

train_cfg = dict(
    stage1=dict(max_epochs=12, lr=1e-2, milestones=[8, 10]),
    stage2=dict(max_epochs=12, lr=1e-3, milestones=[8, 10]),
    val_interval=4,
)
default_hooks = dict(logger=dict(interval=10))
