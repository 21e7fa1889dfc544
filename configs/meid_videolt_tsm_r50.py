# MEID on VideoLT, TSM-R50 Kinetics features (150 frames; train 60).
_base_ = ['meid_videolt_r101.py']

feat_dir = 'features/TSM-R50'
