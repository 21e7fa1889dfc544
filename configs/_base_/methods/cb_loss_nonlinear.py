# Method: class-balanced loss (sigmoid BCE, beta = 0.9999), VideoLT's
# nonlinear classifier.
_base_ = ['./bce_nonlinear.py']

# class counts: the training split's, handed over by LongTailLossHook
model = dict(
    cls_head=dict(
        loss_cls=dict(_delete_=True, type='ClassBalancedLoss', beta=0.9999)
    )
)
