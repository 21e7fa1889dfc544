# MEID + NeXtVLAD, the model of the CharadesLT / CharadesEgoLT rows
# (meid_charadeslt_r101.py, meid_charadesegolt_r101.py).
# NeXtVLAD as in the Charades runs (expansion 2, 8 groups, 64 clusters,
# group attention, hidden 1024, ReLU6) replaces the weighted-mean pooling of
# both experts (expert 1 pools with A, expert 2 with R; the motion branch
# keeps its mean).
_base_ = ['../models/meid_feature.py']

model = dict(
    cls_head=dict(
        aggregator=dict(
            type='NeXtVLAD',
            num_clusters=64,
            expansion=2,
            groups=8,
            hidden_channels=1024,
            group_attention=True,
            hidden_act='relu6',
        ),
    )
)
