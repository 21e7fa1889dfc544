# VideoLT with pre-extracted per-frame features ([150, 2048] per video).
# Layout (docs/data.md): data/videolt/{train,validate,test}.lst,
# data/videolt/count-labels-train.lst, data/videolt/features/<backbone>/.
# Switch the backbone with feat_dir (features/ResNet50, features/TSM-R50),
# e.g. --cfg-options feat_dir=features/ResNet50. Data keys:
# feature_dataset.py and docs/custom_dataset.md.
_base_ = ['./feature_dataset.py']

dataset_type = 'VideoLTDataset'
data_root = 'data/videolt'
feat_dir = 'features/ResNet101'
count_file = 'count-labels-train.lst'
num_classes = 1004
feat_dim = 2048
head_thr = 500
tail_thr = 100
val_split = 'validate.lst'
num_frames = 150
train_clip_len = 60
test_clip_len = 150
