"""MEID + NetVLAD on VideoLT, ResNet-101 ImageNet features (150 frames per
video; training draws 60): the paper's ResNet-101 recipe.

    python tools/train.py configs/meid_videolt_r101.py

Target row (docs/method.md): VideoLT / ResNet-101 / MEID + NetVLAD,
0.716 overall / 0.811 head / 0.745 medium / 0.652 tail mAP (against
FrameStack + NetVLAD, 0.670). Not yet reproduced.

NetVLAD is VideoLT's released variant (docs/method.md), K = 64, hidden
1024, ReLU6. It replaces the weighted-mean pooling of both experts, each
with its own instance (2 x 134 M projection weights): expert 1 pools its
frame embeddings T with its attention A as frame weights, expert 2 pools
T' with R = 1 / (A + beta); the motion branch keeps its plain mean
(aggregate_motion=False).

MEID variant: the paper's (docs/method.md, "MEID variants": L(Y + Y_F),
sigmoid(Y + Y_F), R = 1 / (A + beta), own trainable necks, class-balanced
stage 2 without label mask), because this config targets the paper's
published row. On the CPU study of docs/benchmarks.md the variant chosen
on validation keeps this model and scores 0.5 sigmoid(Y) + 0.5 sigmoid(Y_F)
(the released code's inference; --cfg-options
model.cls_head.inference=prob_mix); it has not been tried on VideoLT.
Recipe: the paper's text (batch 128, 60 training frames, lr 1e-3 / 1e-4);
the released scripts' run (its batch, frames, lr, SyncBN, FrameStack) as a
command line, and every difference: docs/reproduction.md.
"""

_base_ = [
    '_base_/models/meid_feature.py',
    '_base_/datasets/videolt_features.py',
    '_base_/schedules/meid_two_stage.py',
    '_base_/default_runtime.py',
]

model = dict(
    cls_head=dict(
        aggregator=dict(
            type='NetVLAD',
            num_clusters=64,
            hidden_channels=1024,
            subtract_centers=False,
            gate=True,
            input_norm=True,
            assign_norm=True,
            assign_bias=False,
            hidden_act='relu6',
        )
    )
)
