# CharadesLT baseline row: square-root sampling with the label mask.
# ResNet-101 features, nonlinear classifier. No published number for this row.
#   python tools/train.py configs/baselines/srs_nonlinear_charadeslt_r101.py
_base_ = [
    '../_base_/methods/srs_nonlinear.py',
    '../_base_/datasets/charadeslt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))

# the sampler half of the method (srs_nonlinear.py): the training loader
# is the dataset base's
train_dataloader = dict(
    sampler=dict(_delete_=True, type='SquareRootSampler', label_mask=True)
)
