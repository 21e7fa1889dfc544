# Method: FrameStack (focal loss, AP-driven frame stacking), VideoLT's
# nonlinear classifier.
_base_ = ['./bce_nonlinear.py']

# VideoLT's scripts/framestack.sh: warm epoch 0 (epoch 0 trains without
# stacking), focal loss with 1 - p_t = 1 - exp(-BCE). The per-class training
# AP comes from FrameStackAPHook (default_runtime); num_classes is the data
# key (filled in by apply_data_keys).
model = dict(
    cls_head=dict(loss_cls=dict(gamma=1.0, pt_mode='exp_bce')),
    data_preprocessor=dict(blending=dict(type='FrameStack', warm_epoch=0)),
)
