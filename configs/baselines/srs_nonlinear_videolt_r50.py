# VideoLT baseline row: square-root sampling with the label mask.
# ResNet-50 features, nonlinear classifier. No published ResNet-50 number for
# this row.
#   python tools/train.py configs/baselines/srs_nonlinear_videolt_r50.py
_base_ = [
    '../_base_/methods/srs_nonlinear.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

# the sampler half of the method (srs_nonlinear.py): the training loader
# is the dataset base's
train_dataloader = dict(
    sampler=dict(_delete_=True, type='SquareRootSampler', label_mask=True)
)
