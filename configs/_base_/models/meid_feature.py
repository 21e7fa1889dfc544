# MEID on pre-extracted per-frame features [B, N, D] (docs/method.md).
# Every option of docs/method.md is a key here, at its default.
model = dict(
    type='FeatureRecognizer',
    cls_head=dict(
        type='MEIDHead',
        num_classes=1004,
        in_channels=2048,
        hidden_channels=None,  # H = D
        norm='LN',  # frame-embedding norm: 'LN' or 'BN'
        dropout=0.0,  # frame-embedding dropout
        use_attention=True,  # False: uniform mean pooling
        attention_act='sigmoid',  # or 'softmax' over frames
        attention_channels=None,  # D // 4
        eps=1e-6,  # attention-pooling epsilon
        beta=0.5,  # complementary frame selection R = 1 / (A + beta)
        cfs_norm='none',  # paper; ours: 'max' (A / max A), 'rank'
        cfs_background_thr=0.0,  # ours: > 0 drops frames A / max A below it
        expert2='complementary',  # or 'attention' (two attention experts)
        stage2_loss='sum',  # paper L(Y + Y_F); release: 'expert2' L(Y_F)
        inference='logit_sum',  # paper s(Y + Y_F); release: 'prob_mix'
        inference_weight=0.5,  # w of 'prob_mix': w s(Y) + (1 - w) s(Y_F)
        distill2_necks='own',  # paper; ours: 'expert1' (frozen, reused)
        # aggregator=dict(type='NetVLAD'): frame aggregator of both experts
        # (expert 1 pools with A, expert 2 with R); left out here (None:
        # weighted mean) so that a child config can set it to a dict
        aggregate_motion=False,  # True: motion branch gets one as well
        loss_cls=dict(type='MultiLabelFocalLoss', gamma=1.0, alpha=1.0),
        # one instance (own necks) per expert; lambda_1 = lambda_2 = 0.1;
        # None disables the distillation loss
        loss_distill=dict(
            type='HeadTailDistillLoss',
            neck_channels=128,
            distance='l2',
            loss_weight=0.1,
            neck_mode='free',
        ),
    ),  # paper; ours: 'frozen', 'unit'
    data_preprocessor=dict(type='FeatureDataPreprocessor'),
)
