# MEID on the synthetic demo data with the paper's variant (docs/method.md,
# "MEID variants"): CFS R = 1 / (A + beta) on the raw attention and scores
# sigmoid(Y + Y_F) after stage 2. configs/meid_synthetic.py uses the variant
# chosen on validation instead (docs/benchmarks.md, "MEID's second expert").
_base_ = ['meid_synthetic.py']

model = dict(
    cls_head=dict(
        cfs_norm='none', inference='logit_sum', inference_weight=0.5))
