# VideoLT with TSM-ResNet-50 Kinetics features: videolt_features.py with
# feat_dir features/TSM-R50 (data/videolt/features/TSM-R50/<video id>.npy,
# [150, 2048]).
_base_ = ['./videolt_features.py']

feat_dir = 'features/TSM-R50'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
val_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
test_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
loader_data_keys = dict(feat_dir=feat_dir)
