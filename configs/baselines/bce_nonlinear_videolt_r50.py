# VideoLT baseline row "plain BCE" on ResNet-50 ImageNet features. No
# published ResNet-50 number for this row in docs/method.md.
#   python tools/train.py configs/baselines/bce_nonlinear_videolt_r50.py
_base_ = ['bce_nonlinear_videolt_r101.py']

feat_dir = 'features/ResNet50'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
val_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
test_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
loader_data_keys = dict(feat_dir=feat_dir)
