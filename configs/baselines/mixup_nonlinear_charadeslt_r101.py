# CharadesLT baseline row: mixup (lambda ~ Beta(1, 1)).
# ResNet-101 features, nonlinear classifier. No published number for this row.
#   python tools/train.py configs/baselines/mixup_nonlinear_charadeslt_r101.py
_base_ = ['bce_nonlinear_charadeslt_r101.py']

model = dict(
    data_preprocessor=dict(
        blending=dict(type='MultiLabelMixup', alpha=1.0)  # C: data key
    )
)
