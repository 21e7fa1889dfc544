# Paper row: CharadesLT / ResNet-101 (NeXtVLAD) / FrameStack (focal loss).
# Published (docs/method.md): 0.113 overall / 0.194 head / 0.103 medium /
# 0.042 tail mAP. MEID's released meid-open-source/charades_framestack.sh
# recipe (docs/reproduction.md): Adam 1e-4, batch 1024 on one GPU, all 200
# frames in training (clip length 200), warm epoch 0, focal loss with
# 1 - p_t = 1 - exp(-BCE).
#   python tools/train.py \
#       configs/baselines/framestack_nextvlad_charadeslt_r101.py
_base_ = ['../aggregators/nextvlad_focal_charadeslt_r101.py']

train_clip_len = 200
# written into the loader too (MMAction2's tools read the loaders)
train_dataloader = dict(
    batch_size=1024,
    dataset=dict(
        pipeline=[
            dict(type='OpenFeatures'),
            dict(type='SampleFeatureFrames', clip_len=train_clip_len),
            dict(type='LoadFeatureFrames'),
            dict(type='PackFeatureInputs'),
        ]
    ),
)
loader_data_keys = dict(train_clip_len=train_clip_len)
# MEID's released NeXtVLAD layer (models/net_module.py + NeXtVLADModel,
# docs/reproduction.md): input BatchNorm, BatchNorm of the assignment over
# the 200 frame positions, assignment bias, BatchNorm1d(1) instead of L2.
# num_classes: the data key (filled in by apply_data_keys).
model = dict(
    cls_head=dict(
        aggregators=[
            dict(
                _base_.nextvlad,  # the sizes of models/nextvlad_feature.py
                input_norm=True,
                assign_norm='frames',
                num_frames=200,
                assign_bias=True,
                l2_norm=False,
                scalar_bn=True,
            )
        ],
        loss_cls=dict(pt_mode='exp_bce'),
    ),
    data_preprocessor=dict(blending=dict(type='FrameStack', warm_epoch=0)),
)
