# Method: mixup (lambda ~ Beta(1, 1)) with sigmoid BCE, VideoLT's nonlinear
# classifier.
_base_ = ['./bce_nonlinear.py']

model = dict(
    data_preprocessor=dict(
        blending=dict(type='MultiLabelMixup', alpha=1.0)  # C: data key
    )
)
