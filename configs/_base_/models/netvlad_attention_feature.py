# MOVE's aggregator baseline: a NetVLAD-style layer (VideoLT's variant) and
# 4-head attention pooling with a mean-frame query, concatenated
# (1024 + 2048), then VideoLT's nonlinear classifier
# (Linear -> ReLU -> Dropout(0.5) -> Linear), BCE.
_base_ = ['./netvlad_feature.py']

attention = dict(
    type='AttentionPooling',
    num_heads=4,
    key_channels=512,
    value_channels=512,
    dropout=0.1,
    # MOVE's MultiHeadAttention_Aggregator: dropout 0.1 on the attention
    # probabilities, LayerNorm eps 1e-6, projections without bias
    attn_dropout=0.1,
    norm_eps=1e-6,
    bias=False,
)
model = dict(
    cls_head=dict(
        aggregators=[{{_base_.netvlad_videolt}}, attention],
        mlp_channels=2048,
        loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0),
    )
)
