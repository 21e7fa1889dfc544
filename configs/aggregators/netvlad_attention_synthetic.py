"""MOVE's aggregator baseline (NetVLAD-style + 4-head attention pooling,
d_k = d_v = 32, concatenated) on the synthetic demo data, BCE; CPU,
minutes.
Target row: none (demo data); see docs/benchmarks.md, "Aggregators".
"""

_base_ = ['./netvlad_synthetic.py']

model = dict(
    cls_head=dict(
        aggregators=[
            _base_.model.cls_head.aggregators[0],  # netvlad_synthetic.py's
            dict(
                type='AttentionPooling',
                num_heads=4,
                key_channels=32,
                value_channels=32,
            ),
        ],
        mlp_channels=96,
        loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0),
    )
)
