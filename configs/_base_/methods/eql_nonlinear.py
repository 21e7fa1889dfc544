# Method: EQL, VideoLT's random form (drop probability 1.76e-3 on the
# negatives of tail classes), VideoLT's nonlinear classifier.
_base_ = ['./bce_nonlinear.py']

# tail classes: the dataset's tail group (VideoLT: n_c <= 100)
model = dict(
    cls_head=dict(
        loss_cls=dict(
            _delete_=True, type='EQLLoss', mode='random', drop_prob=1.76e-3
        )
    )
)
