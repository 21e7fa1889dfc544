"""NeXtVLAD baseline, focal loss, CharadesEgoLT ResNet-101 features (200
frames per video; training draws 60, testing takes all 200).

Target row (docs/method.md): CharadesEgoLT / ResNet-101 (NeXtVLAD) /
FrameStack, 0.152 overall / 0.237 head / 0.131 medium / 0.080 tail mAP.
Not yet reproduced. This config is the aggregator with natural sampling;
the published row also trains with FrameStack.
"""

_base_ = ['./nextvlad_focal_charadeslt_r101.py']

data_root = 'data/charadesegolt'
