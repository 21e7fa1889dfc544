# Paper row: CharadesEgoLT / ResNet-101 (NeXtVLAD) / FrameStack (focal
# loss). Published (docs/method.md): 0.152 overall / 0.237 head / 0.131
# medium / 0.080 tail mAP. The CharadesLT FrameStack recipe (MEID's
# charades_framestack.sh; no CharadesEgoLT script was released) on the
# CharadesEgoLT data.
#   python tools/train.py \
#       configs/baselines/framestack_nextvlad_charadesegolt_r101.py
_base_ = ['framestack_nextvlad_charadeslt_r101.py']

data_root = 'data/charadesegolt'
# written into the loaders too (MMAction2's tools read the loaders)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
loader_data_keys = dict(data_root=data_root)
