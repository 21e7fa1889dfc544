# VideoLT baseline row: class-balanced sampling with the label mask.
# ResNet-50 features, nonlinear classifier. Published (MEID paper, VideoLT
# ResNet-50): 0.491 overall mAP.
#   python tools/train.py configs/baselines/cbs_nonlinear_videolt_r50.py
_base_ = [
    '../_base_/methods/cbs_nonlinear.py',
    '../_base_/datasets/videolt_r50_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

# the sampler half of the method (cbs_nonlinear.py): the training loader
# is the dataset base's
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler', label_mask=True)
)
