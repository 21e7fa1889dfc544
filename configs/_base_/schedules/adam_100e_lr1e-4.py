# The VideoLT baseline schedule: Adam lr 1e-4, 100 epochs, lr x0.1 at epochs
# 30 and 60, gradient-norm clipping at 20, batch 128 on one device (every
# script of 17Skye17/VideoLT scripts/*.sh: --lr 0.0001 --gd 20 --lr_steps 30
# 60 --epochs 100 --batch-size 128; MOVE's scripts/baseline_Agg.sh and MEID's
# charades_*.sh the same lr). docs/reproduction.md lists every row.
_base_ = ['./adam_100e.py']

optim_wrapper = dict(optimizer=dict(lr=1e-4))
