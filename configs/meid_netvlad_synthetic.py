"""MEID + NetVLAD (VideoLT's variant, K = 8 clusters, hidden 64) on the
synthetic demo data; CPU, minutes.
Target row: none (demo data); see docs/benchmarks.md, "Aggregators".
"""

_base_ = ['./meid_synthetic.py']

model = dict(
    cls_head=dict(
        aggregator=dict(
            type='NetVLAD',
            num_clusters=8,
            hidden_channels=64,
            subtract_centers=False,
            gate=True,
            input_norm=True,
            assign_norm=True,
            assign_bias=False,
        )
    )
)
