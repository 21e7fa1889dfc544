"""MEIDHead(aggregator=...): expert 1 pools with A, expert 2 with R."""

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import meid_mmaction  # noqa: F401
from meid_mmaction.models.heads.meid_modules import (
    complementary_weights,
    weighted_mean_pool,
)
from meid_mmaction.utils import set_gt_label

C, D, H = 5, 8, 6
GROUPS = dict(head=[0, 1], medium=[2], tail=[3, 4])
AGGREGATORS = [
    dict(type='NetVLAD', num_clusters=3, hidden_channels=4),
    dict(type='NeXtVLAD', num_clusters=3, groups=2, hidden_channels=4),
    dict(
        type='AttentionPooling', num_heads=2, key_channels=3, value_channels=3
    ),
]


def make_head(**kwargs):
    cfg = dict(
        type='MEIDHead', num_classes=C, in_channels=D, hidden_channels=H
    )
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    for m in (head.distill1, head.distill2):
        m.set_class_groups(GROUPS)
    return head


def samples(batch):
    out = []
    for i in range(batch):
        target = torch.zeros(C)
        target[[i % C, C - 1 - i % C]] = 1.0
        out.append(set_gt_label(ActionDataSample(), target))
    return out


@pytest.mark.parametrize('agg', AGGREGATORS, ids=lambda a: a['type'])
def test_experts_pool_with_their_frame_weights(agg):
    torch.manual_seed(0)
    head = make_head(aggregator=agg).eval()
    e1, e2 = head.expert1, head.expert2
    assert e1.aggregator is not e2.aggregator
    assert e1.aggregator.in_channels == H
    assert e1.fc_cls.in_features == e1.aggregator.out_channels
    assert e2.motion_aggregator is None
    assert e2.fuse.in_features == e2.aggregator.out_channels + H
    x = torch.randn(3, 7, D)
    a = e1.attention(x)
    y, weights = e1.forward_with_weights(x)
    torch.testing.assert_close(weights, a)
    torch.testing.assert_close(y, e1.fc_cls(e1.aggregator(e1.embed(x), a)))
    r = complementary_weights(a, 0.5)
    x_c = e2.aggregator(e2.embed(x), r)
    x_m = e2.motion_embed(
        torch.cat([x[:, 1:] - x[:, :-1], x.mean(1, keepdim=True)], 1)
    ).mean(1)
    torch.testing.assert_close(
        e2(x, a), e2.fc_cls(e2.fuse(torch.cat([x_c, x_m], -1)))
    )
    head.set_train_stage(2)
    torch.testing.assert_close(head(x), y + e2(x, a))


def test_aggregate_motion_and_no_attention():
    torch.manual_seed(0)
    agg = AGGREGATORS[0]
    head = make_head(aggregator=agg, aggregate_motion=True).eval()
    e2 = head.expert2
    assert e2.fuse.in_features == 2 * e2.aggregator.out_channels
    assert e2.motion_aggregator is not e2.aggregator
    head = make_head(aggregator=agg, use_attention=False).eval()
    x = torch.randn(2, 5, D)
    y, weights = head.expert1.forward_with_weights(x)
    torch.testing.assert_close(weights, torch.ones(2, 5))
    e1 = head.expert1
    torch.testing.assert_close(y, e1.fc_cls(e1.aggregator(e1.embed(x))))


def test_no_aggregator_is_the_weighted_mean():
    torch.manual_seed(0)
    head = make_head().eval()
    e1 = head.expert1
    assert e1.aggregator is None and head.expert2.aggregator is None
    x = torch.randn(2, 5, D)
    a = e1.attention(x)
    torch.testing.assert_close(
        head(x), e1.fc_cls(weighted_mean_pool(e1.embed(x), a, 1e-6))
    )


@pytest.mark.parametrize('agg', AGGREGATORS, ids=lambda a: a['type'])
def test_stages_train_only_their_expert(agg):
    torch.manual_seed(0)
    head = make_head(aggregator=agg, expert2='complementary')
    x, data = torch.randn(4, 6, D), samples(4)
    for stage, trained, frozen in (
        (1, head.expert1, head.expert2),
        (2, head.expert2, head.expert1),
    ):
        head.set_train_stage(stage)
        head.train()
        head.zero_grad()
        losses = head.loss(x, data)
        sum(losses.values()).backward()
        for key, p in trained.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, key
        assert all(
            p.grad is None or not p.grad.any() for p in frozen.parameters()
        )
    head.eval()
    # stage 2 keeps expert 1's aggregator (BatchNorm) in eval mode
    head.train()
    assert not head.expert1.aggregator.training


def test_aggregator_in_channels_mismatch():
    with pytest.raises(
        ValueError,
        match='has in_channels=8, but pools frame embeddings of size 6',
    ):
        make_head(aggregator=dict(type='NetVLAD', in_channels=8))


def _vlad_uniform_by_hand(x, w, centers):
    """NetVLAD with a uniform soft assignment 1 / K, weights scaling the
    assignment, residuals to ``centers`` (``[K, D]``), intra-norm, L2:
    ``[B, N, D]``, ``[B, N]`` -> ``[B, K * D]``, written out per cluster."""
    k = centers.shape[0]
    rows = []
    for c in range(k):
        v = ((w / k)[..., None] * (x - centers[c])).sum(1)
        rows.append(v / v.norm(dim=-1, keepdim=True))
    vlad = torch.cat(rows, dim=-1)
    return vlad / vlad.norm(dim=-1, keepdim=True)


def test_aggregator_on_frames_with_mean_branch_hand_computed():
    """``aggregator_input='frames'`` + ``NetVLAD(mean_branch=True)`` (issue
    16): expert 1 classifies ``[sum A x / sum A; VLAD(X; A)]``, expert 2
    ``fuse([sum R x / sum R; VLAD'(X; R)], mean T''(X_M))``; no frame
    embedding of the pooled path."""
    torch.manual_seed(0)
    agg = dict(
        type='NetVLAD', num_clusters=2, hidden_channels=None, mean_branch=True
    )
    head = make_head(aggregator=agg, aggregator_input='frames').eval()
    e1, e2 = head.expert1, head.expert2
    assert e1.embed is None and e2.embed is None
    assert e1.aggregator.in_channels == D and e2.aggregator.in_channels == D
    assert e1.fc_cls.in_features == D + 2 * D
    assert e2.fuse.in_features == D + 2 * D + H
    for e in (e1, e2):
        with torch.no_grad():
            e.aggregator.assign.weight.zero_()
            e.aggregator.assign.bias.zero_()
    x = torch.randn(3, 7, D)
    a = e1.attention(x)
    mean_a = (a[..., None] * x).sum(1) / a.sum(1, keepdim=True)
    pooled = torch.cat(
        [mean_a, _vlad_uniform_by_hand(x, a, e1.aggregator.centers)], -1
    )
    y, weights = e1.forward_with_weights(x)
    torch.testing.assert_close(weights, a)
    torch.testing.assert_close(y, pooled @ e1.fc_cls.weight.T + e1.fc_cls.bias)
    r = 1.0 / (a + 0.5)
    mean_r = (r[..., None] * x).sum(1) / r.sum(1, keepdim=True)
    x_c = torch.cat(
        [mean_r, _vlad_uniform_by_hand(x, r, e2.aggregator.centers)], -1
    )
    x_m = e2.motion_embed(
        torch.cat([x[:, 1:] - x[:, :-1], x.mean(1, keepdim=True)], 1)
    ).mean(1)
    torch.testing.assert_close(
        e2(x, a), e2.fc_cls(e2.fuse(torch.cat([x_c, x_m], -1)))
    )
    # trains: every parameter of both stages gets a gradient
    head.train()
    losses = head.loss(x, samples(3))
    sum(losses.values()).backward()
    for key, p in head.expert1.named_parameters():
        assert p.grad is not None, key
    head.set_train_stage(2)
    losses = head.loss(x, samples(3))
    sum(losses.values()).backward()
    for key, p in head.expert2.named_parameters():
        assert p.grad is not None, key
    # without an aggregator the option changes nothing
    plain = make_head(aggregator_input='frames')
    assert plain.expert1.embed is not None


def test_aggregator_input_error_names_allowed_values():
    with pytest.raises(
        ValueError,
        match=r"aggregator_input='raw' is not supported; expected one of "
        r"\('embedding', 'frames'\)",
    ):
        make_head(aggregator=AGGREGATORS[0], aggregator_input='raw')
