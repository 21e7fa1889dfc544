# VideoLT baseline row: square-root sampling with the label mask.
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.516 overall mAP.
#   python tools/train.py configs/baselines/srs_nonlinear_videolt_r101.py
_base_ = ['bce_nonlinear_videolt_r101.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='SquareRootSampler', label_mask=True)
)

# VideoLT's base_main.py with --resample: the loss is summed over classes and
# averaged over the batch (reduction 'none', then mean(sum(loss * mask, 1))),
# clipping at 20 (--gd 20, in the schedule base).
model = dict(cls_head=dict(loss_cls=dict(reduction='batch_sum')))
