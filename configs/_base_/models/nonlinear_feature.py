# VideoLT's nonlinear classifier on pre-extracted per-frame features.
model = dict(
    type='FeatureRecognizer',
    cls_head=dict(
        type='NonlinearClsHead',
        num_classes=1004,
        in_channels=2048,
        dropout_ratio=0.5,
        loss_cls=dict(type='MultiLabelFocalLoss', gamma=1.0, alpha=1.0),
    ),
    data_preprocessor=dict(type='FeatureDataPreprocessor'),
)
