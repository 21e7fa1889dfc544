# VideoLT with ResNet-50 ImageNet features: videolt_features.py with
# feat_dir features/ResNet50 (data/videolt/features/ResNet50/<video id>.npy,
# [150, 2048]).
_base_ = ['./videolt_features.py']

feat_dir = 'features/ResNet50'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
val_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
test_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
loader_data_keys = dict(feat_dir=feat_dir)
