# VideoLT baseline row: class-balanced sampling with the label mask.
# ResNet-50 features, nonlinear classifier. Published (MEID paper, VideoLT
# ResNet-50): 0.491 overall mAP.
#   python tools/train.py configs/baselines/cbs_nonlinear_videolt_r50.py
_base_ = ['cbs_nonlinear_videolt_r101.py']

feat_dir = 'features/ResNet50'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
val_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
test_dataloader = dict(dataset=dict(data_prefix=dict(feat=feat_dir)))
loader_data_keys = dict(feat_dir=feat_dir)
