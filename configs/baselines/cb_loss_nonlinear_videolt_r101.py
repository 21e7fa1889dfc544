# VideoLT baseline row: class-balanced loss (sigmoid BCE, beta = 0.9999).
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.511 overall mAP.
#   python tools/train.py configs/baselines/cb_loss_nonlinear_videolt_r101.py
_base_ = ['bce_nonlinear_videolt_r101.py']

# class counts: the training split's, handed over by LongTailLossHook
model = dict(
    cls_head=dict(
        loss_cls=dict(_delete_=True, type='ClassBalancedLoss', beta=0.9999)
    )
)
