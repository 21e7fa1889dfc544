# Paper row: VideoLT / ResNet-101 / FrameStack + NetVLAD (VideoLT's released
# NetVLAD, focal loss). Published (docs/method.md): 0.670 overall / 0.780
# head / 0.707 medium / 0.590 tail mAP. VideoLT's scripts/framestack.sh
# recipe (docs/reproduction.md): Adam 1e-4, batch 128, 60 training frames,
# warm epoch 0, focal loss with 1 - p_t = 1 - exp(-BCE).
#   python tools/train.py configs/baselines/framestack_netvlad_videolt_r101.py
_base_ = ['../aggregators/netvlad_focal_videolt_r101.py']

# num_classes: the data key (filled in by apply_data_keys)
model = dict(
    cls_head=dict(loss_cls=dict(pt_mode='exp_bce')),
    data_preprocessor=dict(blending=dict(type='FrameStack', warm_epoch=0)),
)
