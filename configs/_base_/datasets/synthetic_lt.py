# The synthetic long-tailed multi-label demo data (VideoLT layout), made by
#   python tools/data/generate_synthetic.py data/synthetic_lt
# 50 classes, 96-d features, 40-60 frames per video, head > 100 / tail <= 20
# training videos (thresholds recorded in data/synthetic_lt/meta.json).
# Data keys: feature_dataset.py and docs/custom_dataset.md.
_base_ = ['./feature_dataset.py']

dataset_type = 'MultiLabelFeatureDataset'
data_root = 'data/synthetic_lt'
feat_dir = 'features'
count_file = 'count-labels-train.lst'
num_classes = 50
feat_dim = 96
head_thr = 100
tail_thr = 20
val_split = 'validate.lst'
num_frames = None  # 40-60
train_clip_len = 24
test_clip_len = 48

train_dataloader = dict(batch_size=64, num_workers=2)
val_dataloader = dict(batch_size=128, num_workers=2)
test_dataloader = dict(batch_size=128, num_workers=2)
