# MEID on VideoLT, ResNet-50 ImageNet features (150 frames; train 60).
_base_ = ['meid_videolt_r101.py']

feat_dir = 'features/ResNet50'
