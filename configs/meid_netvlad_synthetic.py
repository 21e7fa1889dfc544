"""MEID + NetVLAD (VideoLT's variant, K = 8 clusters, hidden 64) on the
synthetic demo data; CPU, minutes.
Target row: none (demo data); see docs/benchmarks.md, "Aggregators".

Integration (issue 16, docs/benchmarks.md, "MEID + NetVLAD vs MEID"): each
expert's NetVLAD pools the raw frames X with the expert's frame weights,
beside their weighted mean (``aggregator_input='frames'``,
``mean_branch=True``), as MOVE pairs NetVLAD with attention pooling.
"""

_base_ = ['./meid_synthetic.py']

model = dict(
    cls_head=dict(
        aggregator_input='frames',
        aggregator=dict(
            type='NetVLAD',
            num_clusters=8,
            hidden_channels=64,
            subtract_centers=False,
            gate=True,
            input_norm=True,
            assign_norm=True,
            assign_bias=False,
            mean_branch=True,
        ),
    )
)
