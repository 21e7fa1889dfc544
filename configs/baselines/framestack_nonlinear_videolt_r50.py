# VideoLT baseline row: FrameStack (focal loss, AP-driven frame stacking).
# ResNet-50 features, nonlinear classifier. Published (MEID paper, VideoLT
# ResNet-50): 0.516 overall mAP.
#   python tools/train.py configs/baselines/framestack_nonlinear_videolt_r50.py
_base_ = ['framestack_nonlinear_videolt_r101.py']

feat_dir = 'features/ResNet50'
