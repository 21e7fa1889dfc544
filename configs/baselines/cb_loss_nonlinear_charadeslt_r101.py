# CharadesLT baseline row: class-balanced loss (sigmoid BCE, beta = 0.9999).
# ResNet-101 features, nonlinear classifier. No published number for this row.
#   python tools/train.py \
#       configs/baselines/cb_loss_nonlinear_charadeslt_r101.py
_base_ = ['bce_nonlinear_charadeslt_r101.py']

# class counts: the training split's, handed over by LongTailLossHook
model = dict(
    cls_head=dict(
        loss_cls=dict(_delete_=True, type='ClassBalancedLoss', beta=0.9999)
    )
)
