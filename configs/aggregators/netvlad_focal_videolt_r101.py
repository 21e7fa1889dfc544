"""NetVLAD baseline (VideoLT's released NetVLAD), focal loss, VideoLT
ResNet-101 features.

Target row (docs/method.md): VideoLT / ResNet-101 / FrameStack + NetVLAD,
0.670 overall / 0.780 head / 0.707 medium / 0.590 tail mAP. Not yet
reproduced. This config is the aggregator with natural sampling and focal
loss (alpha = gamma = 1), Adam 1e-3, 100 epochs; the published row also
trains with FrameStack.
"""

_base_ = [
    '../_base_/models/netvlad_feature.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e.py',
    '../_base_/default_runtime.py',
]
