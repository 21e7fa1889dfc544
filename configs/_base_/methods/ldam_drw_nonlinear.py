# Method: LDAM-DRW (max margin 0.5, s = 30, re-weighting from epoch 50),
# VideoLT's nonlinear classifier.
_base_ = ['./bce_nonlinear.py']

# class counts from the training split (LongTailLossHook), which also
# drives the DRW switch by the epoch (0-based epoch 50 of 100)
model = dict(
    cls_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='LDAMLoss',
            max_margin=0.5,
            scale=30.0,
            drw_epoch=50,
            drw_beta=0.9999,
        )
    )
)
