# MEID on the synthetic demo data with the expert combination chosen on the
# validation split after stage 2 (ours, docs/design.md "Validation-chosen
# expert combination"): ExpertCombinationHook (default_runtime.py) scores
# sigmoid(Y + a Y_F) for a in 0..3 (and 4, 6, 8; a = 0 is expert 1 alone)
# and w sigmoid(Y) + (1 - w) sigmoid(Y_F) for w in 0..1, and keeps the best
# one per head / medium / tail group ('auto': one for all classes) in the
# head's buffers, so the checkpoint and tools/test.py use it. Until then
# (stage 2 before its first validation) it scores 0.5 sigmoid(Y) + 0.5
# sigmoid(Y_F). Since issue 17 this is also meid_synthetic.py's default; the
# file stays so that existing commands keep working.
_base_ = ['meid_synthetic.py']

model = dict(cls_head=dict(inference='auto_group', auto_fallback='prob_mix'))
