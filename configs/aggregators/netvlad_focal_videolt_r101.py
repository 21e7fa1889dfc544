"""NetVLAD baseline (VideoLT's released NetVLAD), focal loss, VideoLT
ResNet-101 features.

Target row: none published without FrameStack; the natural-sampling arm of
the row VideoLT / ResNet-101 / FrameStack + NetVLAD (0.670 overall), whose
one config is configs/baselines/framestack_netvlad_videolt_r101.py. Focal
loss (alpha = gamma = 1), Adam 1e-4 (VideoLT's scripts), 100 epochs. Not
yet reproduced.
"""

_base_ = [
    '../_base_/models/netvlad_feature.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]
