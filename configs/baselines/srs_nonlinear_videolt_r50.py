# VideoLT baseline row: square-root sampling with the label mask.
# ResNet-50 features, nonlinear classifier. No published ResNet-50 number for
# this row.
#   python tools/train.py configs/baselines/srs_nonlinear_videolt_r50.py
_base_ = ['srs_nonlinear_videolt_r101.py']

feat_dir = 'features/ResNet50'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
val_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
test_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
loader_data_keys = dict(feat_dir=feat_dir)
