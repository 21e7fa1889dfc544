# FrameStack (VideoLT's baseline) with the nonlinear classifier on the
# synthetic demo data: the first half of each batch is stacked with a
# partner, frames allotted by the per-class training AP of the previous
# epoch (FrameStackAPHook, in default_runtime.py). Synthetic data: no
# published number; see docs/benchmarks.md for ours.
#   python tools/train.py configs/baselines/framestack_nonlinear_synthetic.py
_base_ = ['../nonlinear_synthetic.py']

model = dict(
    data_preprocessor=dict(blending=dict(type='FrameStack', num_classes=50))
)
train_cfg = dict(max_epochs=3)
