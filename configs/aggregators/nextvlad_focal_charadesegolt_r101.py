"""NeXtVLAD baseline, focal loss, CharadesEgoLT ResNet-101 features (200
frames per video; training draws 60, testing takes all 200).

Target row: none published without FrameStack; the natural-sampling arm of
the row CharadesEgoLT / ResNet-101 (NeXtVLAD) / FrameStack (0.152 overall),
whose one config is
configs/baselines/framestack_nextvlad_charadesegolt_r101.py. Not yet
reproduced.
"""

_base_ = ['./nextvlad_focal_charadeslt_r101.py']

data_root = 'data/charadesegolt'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
loader_data_keys = dict(data_root=data_root)
