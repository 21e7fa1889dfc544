# CharadesLT baseline: FrameStack (focal loss, AP-driven frame stacking).
# ResNet-101 features, nonlinear classifier. No published number with the
# nonlinear classifier: the CharadesLT FrameStack row of the MEID paper
# (0.113 overall) aggregates with NeXtVLAD, and its one config is
# framestack_nextvlad_charadeslt_r101.py.
#   python tools/train.py \
#       configs/baselines/framestack_nonlinear_charadeslt_r101.py
_base_ = [
    '../_base_/methods/framestack_nonlinear.py',
    '../_base_/datasets/charadeslt_features.py',
    '../_base_/schedules/adam_100e_lr1e-4.py',
    '../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=157))
