# CharadesLT with ResNet-101 ImageNet features of 200 uniformly sampled frames.
# Build the lists with tools/data/build_charades_lt.py (docs/data.md). Layout:
# data/charadeslt/{train,val,test}.lst, data/charadeslt/count-labels-train.lst,
# data/charadeslt/features/ResNet101/<video id>.npy ([200, 2048]).
# Data keys: feature_dataset.py and docs/custom_dataset.md.
_base_ = ['./feature_dataset.py']

dataset_type = 'CharadesLTDataset'
data_root = 'data/charadeslt'
feat_dir = 'features/ResNet101'
count_file = 'count-labels-train.lst'
num_classes = 157
feat_dim = 2048
head_thr = 100
tail_thr = 20
val_split = 'val.lst'
num_frames = 200
train_clip_len = 60
test_clip_len = 200
