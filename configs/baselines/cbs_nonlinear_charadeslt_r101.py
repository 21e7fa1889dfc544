# CharadesLT baseline row: class-balanced sampling with the label mask.
# ResNet-101 features, nonlinear classifier. No published number for this row.
#   python tools/train.py configs/baselines/cbs_nonlinear_charadeslt_r101.py
_base_ = ['bce_nonlinear_charadeslt_r101.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler', label_mask=True)
)
