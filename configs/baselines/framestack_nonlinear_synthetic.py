# FrameStack (VideoLT's baseline) with the nonlinear classifier on the
# synthetic demo data: the method of the paper rows
# (_base_/methods/framestack_nonlinear.py: focal loss with VideoLT's
# 1 - p_t = 1 - exp(-BCE), warm epoch 0, frames allotted by the per-class
# training AP of the previous epoch) on the data and short schedule of
# nonlinear_synthetic.py. Synthetic data: no published number; see
# docs/benchmarks.md for ours.
#   python tools/train.py configs/baselines/framestack_nonlinear_synthetic.py
_base_ = [
    '../_base_/methods/framestack_nonlinear.py',
    '../_base_/datasets/synthetic_lt.py',
    '../_base_/schedules/adam_12e_synthetic.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=50, in_channels=96))
train_cfg = dict(max_epochs=3)
default_hooks = dict(logger=dict(interval=10))
