# NetVLAD aggregator baseline on per-frame features: VideoLT's released
# "NetVLAD" (docs/method.md): input BatchNorm, assignment Linear(D, 64) +
# BatchNorm + softmax, sum of A^T X without centres, sigmoid gate on the
# 64 x D aggregate, per-cluster L2, L2, Linear(64 * D, 1024, bias=False) +
# BatchNorm + ReLU6; then a linear classifier. 134 M projection weights at
# D = 2048.
netvlad_videolt = dict(
    type='NetVLAD',
    num_clusters=64,
    hidden_channels=1024,
    subtract_centers=False,
    gate=True,
    input_norm=True,
    assign_norm=True,
    assign_bias=False,
    intra_norm=True,
    l2_norm=True,
    hidden_act='relu6',
)
model = dict(
    type='FeatureRecognizer',
    cls_head=dict(
        type='AggregatorClsHead',
        num_classes=1004,
        in_channels=2048,
        aggregators=[netvlad_videolt],
        mlp_channels=None,  # e.g. 2048: VideoLT's nonlinear classifier
        dropout_ratio=0.5,
        loss_cls=dict(type='MultiLabelFocalLoss', gamma=1.0, alpha=1.0),
    ),
    data_preprocessor=dict(type='FeatureDataPreprocessor'),
)
