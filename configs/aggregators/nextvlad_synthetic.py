"""NeXtVLAD baseline (K = 8 clusters, 4 groups, hidden 64) on the synthetic
demo data; CPU, minutes.
Target row: none (demo data); see docs/benchmarks.md, "Aggregators".
"""

_base_ = ['./netvlad_synthetic.py']

model = dict(
    cls_head=dict(
        aggregators=[
            dict(
                type='NeXtVLAD',
                num_clusters=8,
                expansion=2,
                groups=4,
                hidden_channels=64,
            )
        ]
    )
)
