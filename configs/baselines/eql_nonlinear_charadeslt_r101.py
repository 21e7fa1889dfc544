# CharadesLT baseline row: EQL, VideoLT's random form (drop probability
# 1.76e-3 on the negatives of tail classes).
# ResNet-101 features, nonlinear classifier. No published number for this row.
#   python tools/train.py configs/baselines/eql_nonlinear_charadeslt_r101.py
_base_ = ['bce_nonlinear_charadeslt_r101.py']

# tail classes: the dataset's tail group (VideoLT: n_c <= 100)
model = dict(
    cls_head=dict(
        loss_cls=dict(
            _delete_=True, type='EQLLoss', mode='random', drop_prob=1.76e-3
        )
    )
)
