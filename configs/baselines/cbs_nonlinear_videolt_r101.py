# VideoLT baseline row: class-balanced sampling with the label mask.
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.507 overall mAP.
#   python tools/train.py configs/baselines/cbs_nonlinear_videolt_r101.py
_base_ = [
    '../_base_/methods/cbs_nonlinear.py',
    '../_base_/datasets/videolt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

# the sampler half of the method (cbs_nonlinear.py): the training loader
# is the dataset base's
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler', label_mask=True)
)
