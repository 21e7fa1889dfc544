# Paper row: VideoLT / ResNet-101 / FrameStack + NetVLAD (VideoLT's released
# NetVLAD, focal loss). Published (docs/method.md): 0.670 overall / 0.780
# head / 0.707 medium / 0.590 tail mAP.
#   python tools/train.py configs/baselines/framestack_netvlad_videolt_r101.py
_base_ = ['../aggregators/netvlad_focal_videolt_r101.py']

model = dict(
    data_preprocessor=dict(blending=dict(type='FrameStack', num_classes=1004))
)
