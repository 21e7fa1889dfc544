# CharadesLT baseline row: mixup (lambda ~ Beta(1, 1)).
# ResNet-101 features, nonlinear classifier. No published number for this row.
#   python tools/train.py configs/baselines/mixup_nonlinear_charadeslt_r101.py
_base_ = [
    '../_base_/methods/mixup_nonlinear.py',
    '../_base_/datasets/charadeslt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
