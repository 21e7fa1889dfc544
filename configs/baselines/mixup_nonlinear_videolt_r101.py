# VideoLT baseline row: mixup (lambda ~ Beta(1, 1)).
# ResNet-101 features, nonlinear classifier. Published (docs/method.md,
# VideoLT ResNet-101, nonlinear classifier): 0.495 overall mAP.
#   python tools/train.py configs/baselines/mixup_nonlinear_videolt_r101.py
_base_ = ['bce_nonlinear_videolt_r101.py']

model = dict(
    data_preprocessor=dict(
        blending=dict(type='MultiLabelMixup', alpha=1.0)  # C: data key
    )
)
