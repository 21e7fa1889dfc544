import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import meid_mmaction  # noqa: F401
from meid_mmaction.models.heads.meid_modules import (
    AttentionExpert,
    ComplementaryExpert,
    FrameAttention,
    FrameEmbedding,
    complementary_weights,
    mix_logits,
    motion_features,
    weighted_mean_pool,
)
from meid_mmaction.models.losses.multilabel_focal_loss import (
    multilabel_focal_loss,
)
from meid_mmaction.utils import get_pred_score, set_gt_label

C, D = 5, 8


@MODELS.register_module(name='MEIDTestIdentity', force=True)
class _Identity(torch.nn.Module):
    """A backbone that returns its input (maps = images)."""

    def forward(self, x):
        return x


GROUPS = dict(head=[0, 1], medium=[2], tail=[3, 4])


def make_head(**kwargs):
    cfg = dict(type='MEIDHead', num_classes=C, in_channels=D)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    for m in (head.distill1, head.distill2):
        if m is not None:
            m.set_class_groups(GROUPS)
    return head


def samples(labels):
    out = []
    for lab in labels:
        target = torch.zeros(C)
        target[lab] = 1.0
        out.append(set_gt_label(ActionDataSample(), target))
    return out


def test_frame_embedding_exact():
    torch.manual_seed(0)
    emb = FrameEmbedding(D, 6)
    x = torch.randn(2, 3, D)
    expected = F.relu(
        F.linear(F.layer_norm(x, (D,)), emb.fc.weight, emb.fc.bias)
    )
    assert emb(x).shape == (2, 3, 6)
    torch.testing.assert_close(emb(x), expected)
    bn = FrameEmbedding(D, 6, norm='BN').train()
    flat = x.reshape(6, D)
    normed = (flat - flat.mean(0)) / torch.sqrt(
        flat.var(0, unbiased=False) + bn.norm.eps
    )
    expected = F.relu(F.linear(normed, bn.fc.weight, bn.fc.bias))
    torch.testing.assert_close(bn(x), expected.reshape(2, 3, 6))
    with pytest.raises(ValueError, match="norm='GN' is not supported"):
        FrameEmbedding(D, 6, norm='GN')


def test_frame_attention_exact():
    torch.manual_seed(0)
    att = FrameAttention(D)
    assert att.fc1.out_features == D // 4
    x = torch.randn(2, 3, D)
    logits = F.linear(
        F.relu(F.linear(x, att.fc1.weight, att.fc1.bias)),
        att.fc2.weight,
        att.fc2.bias,
    ).squeeze(-1)
    torch.testing.assert_close(att(x), torch.sigmoid(logits))
    soft = FrameAttention(D, act='softmax')
    assert soft(x).shape == (2, 3)
    torch.testing.assert_close(soft(x).sum(1), torch.ones(2))
    with pytest.raises(ValueError, match="act='relu' is not supported"):
        FrameAttention(D, act='relu')


def test_pooling_cfs_motion_hand_computed():
    feats = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    pooled = weighted_mean_pool(feats, torch.tensor([[1.0, 3.0]]))
    torch.testing.assert_close(pooled, torch.tensor([[2.5, 3.5]]))
    pooled = weighted_mean_pool(feats, torch.tensor([[1.0, 3.0]]), eps=4.0)
    torch.testing.assert_close(pooled, torch.tensor([[1.25, 1.75]]))
    r = complementary_weights(torch.tensor([[0.5, 0.0, 1.0]]), beta=0.5)
    torch.testing.assert_close(r, torch.tensor([[1.0, 2.0, 2.0 / 3.0]]))
    x = torch.tensor([[[1.0, 0.0], [4.0, 1.0], [6.0, 5.0]]])
    expected = torch.tensor([[[3.0, 1.0], [2.0, 4.0], [11.0 / 3.0, 2.0]]])
    torch.testing.assert_close(motion_features(x), expected)
    assert motion_features(torch.ones(2, 1, 3)).shape == (2, 1, 3)


def test_attention_expert_exact():
    torch.manual_seed(0)
    exp = AttentionExpert(D, 6, C, eps=1e-6)
    x = torch.randn(2, 4, D)
    t, a = exp.embed(x), exp.attention(x)
    v = (a.unsqueeze(-1) * t).sum(1) / (a.sum(1, keepdim=True) + 1e-6)
    torch.testing.assert_close(exp(x), exp.fc_cls(v))
    plain = AttentionExpert(D, 6, C, use_attention=False)
    assert plain.attention is None
    torch.testing.assert_close(plain(x), plain.fc_cls(plain.embed(x).mean(1)))
    logits, weights = plain.forward_with_weights(x)
    torch.testing.assert_close(logits, plain.fc_cls(plain.embed(x).mean(1)))
    torch.testing.assert_close(weights, torch.ones(2, 4))


def test_complementary_expert_exact():
    torch.manual_seed(0)
    exp = ComplementaryExpert(D, 6, C, beta=0.3)
    x = torch.randn(2, 4, D)
    a = torch.rand(2, 4)
    r = 1.0 / (a + 0.3)
    x_c = (r.unsqueeze(-1) * exp.embed(x)).sum(1) / r.sum(1, keepdim=True)
    x_m = exp.motion_embed(motion_features(x)).mean(1)
    expected = exp.fc_cls(exp.fuse(torch.cat([x_c, x_m], -1)))
    torch.testing.assert_close(exp(x, a), expected)


def test_head_stages_forward():
    torch.manual_seed(0)
    head = make_head()
    x = torch.randn(3, 4, D)
    assert head.stage == 1
    y = head.expert1(x)
    torch.testing.assert_close(head(x), y)
    head.set_train_stage(2)
    y_f = head.expert2(x, head.expert1.attention(x))
    torch.testing.assert_close(head(x), y + y_f)


def test_head_2d_backbone_input_matches_features():
    torch.manual_seed(0)
    head = make_head()
    maps = torch.randn(2 * 3, D, 2, 2)  # [B * N, D, h, w]
    feats = maps.mean((2, 3)).reshape(2, 3, D)
    torch.testing.assert_close(head(maps, num_segs=3), head(feats))
    assert head(torch.randn(4, D)).shape == (4, C)


def test_head_input_errors():
    head = make_head()
    with pytest.raises(ValueError, match=r'num_segs=4; expected'):
        head(torch.randn(6, D, 1, 1), num_segs=4)
    with pytest.raises(ValueError, match=r'got shape \(1, 2, 3, 4, 5\)'):
        head(torch.randn(1, 2, 3, 4, 5))
    with pytest.raises(
        ValueError,
        match=r'in_channels=8\) got features '
        r'with D=7',
    ):
        head(torch.randn(2, 3, 7))
    with pytest.raises(ValueError, match='expects a tensor, got tuple'):
        head((torch.randn(2, 3, D),))
    with pytest.raises(ValueError, match="expert2='moe' is not supported"):
        make_head(expert2='moe')
    with pytest.raises(ValueError, match='stage must be 1 or 2, got 3'):
        head.set_train_stage(3)


def test_stage1_loss_values():
    torch.manual_seed(0)
    head = make_head()
    x = torch.randn(4, 3, D)
    data = samples([[0], [1, 3], [4], [2]])
    losses = head.loss(x, data)
    y = head.expert1(x)
    target = torch.stack([head.targets_from([d], 'cpu')[0] for d in data])
    torch.testing.assert_close(
        losses['loss_cls'], multilabel_focal_loss(y, target, gamma=1.0)
    )
    torch.testing.assert_close(losses['loss_distill'], head.distill1(y))
    assert set(losses) == {'loss_cls', 'loss_distill'}
    nodist = make_head(loss_distill=None)
    assert set(nodist.loss(x, data)) == {'loss_cls'}


def test_stage2_loss_values_and_error():
    torch.manual_seed(0)
    head = make_head()
    head.set_train_stage(2)
    x = torch.randn(4, 3, D)
    data = samples([[0], [1, 3], [4], [2]])
    losses = head.loss(x, data)
    y = head.expert1(x)
    y_f = head.expert2(x, head.expert1.attention(x))
    target = head.targets_from(data, 'cpu')
    torch.testing.assert_close(
        losses['loss_cls'], multilabel_focal_loss(y + y_f, target)
    )
    torch.testing.assert_close(losses['loss_distill'], head.distill2(y_f))
    with pytest.raises(ValueError, match='stage 2 needs expert_logits'):
        head.loss_by_feat(y + y_f, data)


def test_stage2_trains_only_expert2():
    torch.manual_seed(0)
    head = make_head(dropout=0.5)
    expert1_names = [
        n
        for n, _ in head.named_parameters()
        if n.startswith(('expert1.', 'distill1.'))
    ]
    before = {n: p.detach().clone() for n, p in head.named_parameters()}
    optim = torch.optim.Adam(head.parameters(), lr=1e-2)
    head.set_train_stage(2)
    head.train()
    assert not head.expert1.training and head.expert2.training
    x = torch.randn(6, 4, D)
    data = samples([[0], [1, 3], [4], [2], [0, 4], [3]])
    for _ in range(3):
        optim.zero_grad()
        losses = head.loss(x, data)
        sum(losses.values()).backward()
        for name, p in head.named_parameters():
            if name in expert1_names:
                assert p.grad is None and not p.requires_grad, name
            else:
                assert p.grad is not None and p.requires_grad, name
        optim.step()
    for name, p in head.named_parameters():
        same = torch.equal(p, before[name])
        assert same == (name in expert1_names), name


def test_stage1_trains_only_expert1():
    head = make_head()
    x = torch.randn(4, 3, D)
    losses = head.loss(x, samples([[0], [1], [3], [4]]))
    sum(losses.values()).backward()
    for name, p in head.named_parameters():
        trained = name.startswith(('expert1.', 'distill1.'))
        assert (p.grad is not None) == trained, name


def test_stage_buffer_in_checkpoint_predicts_right():
    torch.manual_seed(0)
    head = make_head()
    head.set_train_stage(2)
    fresh = make_head()
    fresh.load_state_dict(head.state_dict())
    assert fresh.stage == 2
    x = torch.randn(2, 2, 3, D).reshape(4, 3, D)  # 2 videos x 2 views
    data = samples([[0], [1]])
    fresh.eval()
    fresh.predict(x, data)
    y = head.expert1(x) + head.expert2(x, head.expert1.attention(x))
    expected = torch.sigmoid(y).reshape(2, 2, C).mean(1)
    for d, e in zip(data, expected):
        torch.testing.assert_close(get_pred_score(d), e)


def test_variants_build_and_run():
    x = torch.randn(3, 4, D)
    data = samples([[0], [1], [4]])
    for kwargs in (
        dict(expert2='attention'),
        dict(use_attention=False),
        dict(attention_act='softmax', norm='BN'),
        dict(hidden_channels=4, attention_channels=3),
    ):
        head = make_head(**kwargs)
        head.set_train_stage(2)
        losses = head.loss(x, data)
        assert torch.isfinite(sum(losses.values()))
        assert head(x).shape == (3, C)


def test_construction_leaves_all_parameters_trainable():
    # DDP registers only parameters that require grad when it wraps the
    # model (before the loop picks a stage); expert 2 must be among them.
    head = make_head()
    assert all(p.requires_grad for p in head.parameters())
    assert head.stage == 1


def test_complementary_weights_max_norm():
    a = torch.tensor([[0.002, 0.004, 0.001], [0.5, 0.25, 1.0]])
    r = complementary_weights(a, beta=0.5, norm='max', eps=0.0)
    # A / max A = [0.5, 1, 0.25] and [0.5, 0.25, 1]
    expect = torch.tensor(
        [[1 / 1.0, 1 / 1.5, 1 / 0.75], [1 / 1.0, 1 / 0.75, 1 / 1.5]]
    )
    assert torch.allclose(r, expect)
    # independent of the scale of A
    assert torch.allclose(
        complementary_weights(a * 100, beta=0.5, norm='max', eps=0.0), r
    )
    with pytest.raises(ValueError, match=r"cfs_norm='l2' is not one of"):
        complementary_weights(a, norm='l2')


def test_meid_head_cfs_norm_option():
    head = MODELS.build(
        dict(type='MEIDHead', num_classes=3, in_channels=4, cfs_norm='max')
    )
    assert head.expert2.cfs_norm == 'max'
    with pytest.raises(ValueError, match='cfs_norm'):
        MODELS.build(
            dict(type='MEIDHead', num_classes=3, in_channels=4, cfs_norm='l2')
        )


@pytest.mark.parametrize('beta', [0.0, 1.0, -0.5, 1.5, float('nan'), '0.5'])
def test_beta_outside_open_unit_interval_rejected(beta):
    with pytest.raises(
        ValueError,
        match=r'beta must be a number in \(0, 1\)'
        r'.*got',
    ):
        make_head(beta=beta)
    with pytest.raises(ValueError, match=r'beta must be a number in \(0, 1\)'):
        ComplementaryExpert(D, 4, C, beta=beta)


def test_set_train_stage_clears_grads_of_frozen_expert():
    head = make_head()
    x = torch.randn(4, 3, D)
    sum(head.loss(x, samples([[0], [1], [3], [4]])).values()).backward()
    assert all(p.grad is not None for p in head.expert1.parameters())
    head.set_train_stage(2)
    for module in head.stage_modules(1):
        assert all(p.grad is None for p in module.parameters())


def test_complementary_weights_rank_and_background_hand_computed():
    a = torch.tensor([[0.3, 0.1, 0.2], [0.002, 0.003, 0.001]])
    # ranks / (N - 1): [1, 0, 0.5] and [0.5, 1, 0]
    expect = torch.tensor(
        [[1 / 1.5, 1 / 0.5, 1 / 1.0], [1 / 1.0, 1 / 1.5, 1 / 0.5]]
    )
    torch.testing.assert_close(
        complementary_weights(a, beta=0.5, norm='rank'), expect
    )
    # a monotone transform of A gives the same weights
    torch.testing.assert_close(
        complementary_weights(a.log(), beta=0.5, norm='rank'), expect
    )
    # background: A / max A = [0.01, 0.5, 1, 0.2]; < 0.25 -> weight 0
    a = torch.tensor([[0.01, 0.5, 1.0, 0.2]])
    r = complementary_weights(a, beta=0.5, eps=0.0, background_thr=0.25)
    torch.testing.assert_close(r, torch.tensor([[0.0, 1 / 1.0, 1 / 1.5, 0.0]]))
    r = complementary_weights(
        a * 0.01, beta=0.5, norm='max', eps=0.0, background_thr=0.25
    )
    torch.testing.assert_close(r, torch.tensor([[0.0, 1 / 1.0, 1 / 1.5, 0.0]]))
    with pytest.raises(
        ValueError,
        match=r'cfs_background_thr must be in '
        r'\[0, 1\), got 1.0',
    ):
        complementary_weights(a, background_thr=1.0)


def test_mix_logits_is_logit_of_probability_mixture():
    y1 = torch.tensor([[-60.0, -1.0, 0.0, 2.0, 60.0]])
    y2 = torch.tensor([[3.0, 0.5, 0.0, -2.0, 60.0]])
    for w in (0.0, 0.3, 0.5, 1.0):
        mixed = mix_logits(y1, y2, w)
        assert torch.isfinite(mixed).all()
        expect = w * torch.sigmoid(y1.double()) + (1 - w) * torch.sigmoid(
            y2.double()
        )
        torch.testing.assert_close(torch.sigmoid(mixed.double()), expect)


def test_stage2_release_objective_and_prob_mix_inference():
    torch.manual_seed(0)
    head = make_head(
        stage2_loss='expert2', inference='prob_mix', inference_weight=0.25
    )
    head.set_train_stage(2)
    x = torch.randn(4, 3, D)
    data = samples([[0], [1, 3], [4], [2]])
    losses = head.loss(x, data)
    y = head.expert1(x)
    y_f = head.expert2(x, head.expert1.attention(x))
    target = head.targets_from(data, 'cpu')
    torch.testing.assert_close(
        losses['loss_cls'], multilabel_focal_loss(y_f, target)
    )
    head.eval()
    head.predict(x, data)
    expect = 0.25 * torch.sigmoid(y) + 0.75 * torch.sigmoid(y_f)
    for d, e in zip(data, expect):
        torch.testing.assert_close(get_pred_score(d), e)
    head.set_train_stage(1)  # stage 1 predicts sigmoid(Y) whatever the mix
    torch.testing.assert_close(head(x), y)


def test_distill2_reuses_expert1_necks_frozen():
    torch.manual_seed(0)
    head = make_head(distill2_necks='expert1')
    assert head.distill2 is None
    assert head.stage_modules(2) == (head.expert2,)
    head.set_train_stage(2)
    x = torch.randn(4, 3, D)
    data = samples([[0], [1, 3], [4], [2]])
    losses = head.loss(x, data)
    y_f = head.expert2(x, head.expert1.attention(x))
    torch.testing.assert_close(losses['loss_distill'], head.distill1(y_f))
    sum(losses.values()).backward()
    assert all(p.grad is None for p in head.distill1.parameters())
    assert all(p.grad is not None for p in head.expert2.parameters())


def test_variant_option_errors():
    for kwargs, match in (
        (
            dict(stage2_loss='mean'),
            "stage2_loss='mean' is not supported"
            r".*\('sum', 'expert2'\)",
        ),
        (dict(inference='max'), "inference='max' is not supported"),
        (
            dict(inference_weight=1.5),
            r'inference_weight must be a '
            r'number in \[0, 1\], got 1.5',
        ),
        (
            dict(distill2_necks='shared'),
            "distill2_necks='shared' is not supported",
        ),
        (dict(cfs_background_thr=-0.1), 'cfs_background_thr must be'),
        (dict(cfs_norm='softmax'), "cfs_norm='softmax' is not one of"),
    ):
        with pytest.raises(ValueError, match=match):
            make_head(**kwargs)


def test_frames_per_view_splits_multi_view_backbone_maps():
    """3 crops x 4 frames of 2 videos: each crop is classified as its own
    4-frame sequence and the 3 crops' probabilities are averaged."""
    torch.manual_seed(0)
    head = make_head(frames_per_view=4).eval()
    head.set_train_stage(2)
    feats = torch.randn(2, 3, 4, D)  # [B, crops, frames, D], crop-major
    maps = feats.reshape(2 * 3 * 4, D, 1, 1).expand(-1, -1, 2, 2)
    expected = torch.stack(
        [
            torch.stack(
                [torch.sigmoid(head(feats[b, v : v + 1]))[0] for v in range(3)]
            ).mean(0)
            for b in range(2)
        ]
    )
    logits = head(maps, num_segs=12)
    assert logits.shape == (6, C)  # one row per view
    out = head.predict_by_feat(logits, samples([[0], [1]]))
    torch.testing.assert_close(
        torch.stack([get_pred_score(s) for s in out]), expected
    )
    # without frames_per_view the crops would be joined along time
    joined = make_head().eval()
    joined.load_state_dict(head.state_dict())
    assert joined(maps, num_segs=12).shape == (2, C)
    with pytest.raises(
        ValueError,
        match=r'frames_per_view=4\) got '
        r'num_segs=6 frames per video, not a multiple',
    ):
        head(maps[:12], num_segs=6)
    with pytest.raises(
        ValueError,
        match='frames_per_view must be a positive int or None, got 0',
    ):
        make_head(frames_per_view=0)


def test_three_crop_through_recognizer2d():
    """MMAction2's ThreeCrop + Recognizer2D: views are whole crops."""
    import numpy as np
    from mmaction.datasets.transforms import (
        FormatShape,
        PackActionInputs,
        ThreeCrop,
    )
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    init_default_scope('mmaction')
    rng = np.random.default_rng(0)
    frames = 4
    imgs = [rng.random((6, 12, 3)).astype(np.float32) for _ in range(frames)]
    results = dict(
        imgs=list(imgs),
        img_shape=(6, 12),
        num_clips=frames,
        clip_len=1,
        label=np.array([1]),
    )
    results = ThreeCrop(crop_size=6).transform(results)
    results = FormatShape('NCHW').transform(results)
    packed = PackActionInputs().transform(results)
    model = MODELS.build(
        dict(
            type='Recognizer2D',
            backbone=dict(type='mmaction.MEIDTestIdentity'),
            cls_head=dict(
                type='MEIDHead',
                num_classes=C,
                in_channels=3,
                frames_per_view=frames,
                loss_distill=None,
            ),
            data_preprocessor=dict(
                type='ActionDataPreprocessor', format_shape='NCHW'
            ),
        )
    ).eval()
    out = model.test_step(pseudo_collate([packed]))[0]
    # reference: each 6x6 crop (left, centre, right) pooled per frame
    stack = np.stack(imgs)  # [T, 6, 12, 3]
    views = [stack[:, :, x : x + 6].mean(axis=(1, 2)) for x in (0, 3, 6)]
    head = model.cls_head
    expected = torch.stack(
        [
            torch.sigmoid(head(torch.from_numpy(v)[None].float()))[0]
            for v in views
        ]
    ).mean(0)
    torch.testing.assert_close(get_pred_score(out), expected)
