# MEID on the synthetic demo data with the paper's variant (docs/method.md,
# "MEID variants"): scores sigmoid(Y + Y_F) after stage 2.
# configs/meid_synthetic.py chooses the combination of the two experts on
# validation instead (docs/benchmarks.md, issue 17).
_base_ = ['meid_synthetic.py']

model = dict(cls_head=dict(inference='logit_sum'))
