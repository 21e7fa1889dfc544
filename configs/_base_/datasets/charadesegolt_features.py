# CharadesEgoLT: ResNet-101 ImageNet features of 200 uniformly sampled frames.
# Same layout and settings as CharadesLT (charadeslt_features.py) under
# data/charadesegolt/ (build it with tools/data/build_charades_lt.py
# --preset charadesego, see docs/data.md).
_base_ = ['./charadeslt_features.py']

data_root = 'data/charadesegolt'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
loader_data_keys = dict(data_root=data_root)
