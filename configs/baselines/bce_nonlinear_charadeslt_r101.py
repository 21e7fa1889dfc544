# CharadesLT baseline row "plain BCE": ResNet-101 ImageNet features (200
# frames), VideoLT's nonlinear classifier, sigmoid BCE. No published number
# for this row (the CharadesLT table of the MEID paper aggregates frames with
# NeXtVLAD, see docs/method.md).
#   python tools/train.py configs/baselines/bce_nonlinear_charadeslt_r101.py
_base_ = [
    '../_base_/methods/bce_nonlinear.py',
    '../_base_/datasets/charadeslt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
