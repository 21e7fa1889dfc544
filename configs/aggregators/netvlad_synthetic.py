"""NetVLAD baseline (VideoLT's variant, K = 8 clusters, hidden 64) on the
synthetic demo data; CPU, minutes. Made by
    python tools/data/generate_synthetic.py data/synthetic_lt
Target row: none (demo data); see docs/benchmarks.md, "Aggregators".
"""

_base_ = [
    '../_base_/models/netvlad_feature.py',
    '../_base_/datasets/synthetic_lt.py',
    '../_base_/schedules/adam_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    cls_head=dict(
        num_classes=50,
        in_channels=96,
        aggregators=[
            dict(
                type='NetVLAD',
                num_clusters=8,
                hidden_channels=64,
                subtract_centers=False,
                gate=True,
                input_norm=True,
                assign_norm=True,
                assign_bias=False,
            )
        ],
    )
)

# the demo schedule of nonlinear_synthetic.py: 12 epochs, 10x lr
optim_wrapper = dict(optimizer=dict(lr=1e-2))
train_cfg = dict(max_epochs=12, val_interval=4)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 10], gamma=0.1)
]
default_hooks = dict(logger=dict(interval=10))
