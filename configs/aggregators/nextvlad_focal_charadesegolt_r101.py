"""NeXtVLAD baseline, focal loss, CharadesEgoLT ResNet-101 features (200
frames per video; training draws 60, testing takes all 200).

Target row (docs/method.md): CharadesEgoLT / ResNet-101 (NeXtVLAD) /
FrameStack, 0.152 overall / 0.237 head / 0.131 medium / 0.080 tail mAP.
Not yet reproduced. This config is the aggregator with natural sampling;
the published row also trains with FrameStack.
"""

_base_ = ['./nextvlad_focal_charadeslt_r101.py']

data_root = 'data/charadesegolt'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
loader_data_keys = dict(data_root=data_root)
