# MEID on the synthetic demo data with the paper's variant (docs/method.md,
# "MEID variants"): scores sigmoid(Y + Y_F) after stage 2.
# configs/meid_synthetic.py uses the variant chosen on validation instead
# (docs/benchmarks.md, "MEID's second expert").
_base_ = ['meid_synthetic.py']

model = dict(cls_head=dict(inference='logit_sum'))
