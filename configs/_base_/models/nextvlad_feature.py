# NeXtVLAD aggregator baseline on per-frame features, with the sizes of the
# CharadesLT / CharadesEgoLT runs (docs/method.md): expansion 2, 8 groups, 64
# clusters, group attention, hidden 1024, ReLU6; then a linear classifier.
# The layer is this project's form; MEID's released layer is a set of
# options, used by the Charades FrameStack rows (docs/reproduction.md).
nextvlad = dict(
    type='NeXtVLAD',
    num_clusters=64,
    expansion=2,
    groups=8,
    hidden_channels=1024,
    group_attention=True,
    hidden_act='relu6',
)
model = dict(
    type='FeatureRecognizer',
    cls_head=dict(
        type='AggregatorClsHead',
        num_classes=1004,
        in_channels=2048,
        aggregators=[nextvlad],
        mlp_channels=None,
        dropout_ratio=0.5,
        loss_cls=dict(type='MultiLabelFocalLoss', gamma=1.0, alpha=1.0),
    ),
    data_preprocessor=dict(type='FeatureDataPreprocessor'),
)
