"""Frame aggregators: hand-computed values, frame weights, invariances."""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

import meid_mmaction  # noqa: F401
from meid_mmaction.models.aggregators import masked_batch_norm

SMALL = {
    'MeanPooling': dict(),
    'NetVLAD': dict(num_clusters=3, hidden_channels=5),
    'NetVLAD_videolt': dict(
        num_clusters=3,
        hidden_channels=5,
        input_norm=True,
        assign_norm=True,
        assign_bias=False,
        subtract_centers=False,
        gate=True,
    ),
    'NetVLAD_features': dict(
        num_clusters=3, hidden_channels=5, weight_mode='features'
    ),
    'NetVLAD_mean': dict(num_clusters=3, hidden_channels=5, mean_branch=True),
    'NeXtVLAD': dict(num_clusters=3, groups=4, hidden_channels=5),
    'AttentionPooling': dict(
        num_heads=2, key_channels=3, value_channels=4, dropout=0.0
    ),
}
D = 8


def build(name, in_channels=D, **kwargs):
    cfg = dict(SMALL[name], **kwargs)
    cfg.update(type=name.split('_')[0], in_channels=in_channels)
    return MODELS.build(cfg)


def test_netvlad_hand_computed():
    """K = 2, D = 3, two frames, uniform assignment, centres 0 and 1."""
    agg = build('NetVLAD', in_channels=3, num_clusters=2, hidden_channels=None)
    with torch.no_grad():
        agg.assign.weight.zero_()
        agg.assign.bias.zero_()
        agg.centers.copy_(torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))
    x = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    # V_1 = (x1 + x2) / 2 = [.5, 1, 0]; V_2 = (x1 + x2) / 2 - c_2
    # = [-.5, 0, -1]; both have norm sqrt(1.25); then L2 over 6 values.
    expected = torch.tensor([[0.5, 1.0, 0.0, -0.5, 0.0, -1.0]]) / math.sqrt(
        2.5
    )
    torch.testing.assert_close(agg(x), expected)
    # weight 0 on frame 2: V_1 = [.5, 0, 0], V_2 = [0, -.5, -.5]
    out = agg(x, torch.tensor([[1.0, 0.0]]))
    r = 1 / math.sqrt(2)
    torch.testing.assert_close(out, torch.tensor([[r, 0, 0, 0, -0.5, -0.5]]))
    # non-uniform assignment: frame 1 has logits [1, 0]
    with torch.no_grad():
        agg.assign.weight[0, 0] = 1.0
    a1 = torch.tensor([math.e, 1.0]) / (math.e + 1)
    v1 = a1[0] * x[0, 0] + 0.5 * x[0, 1]
    v2 = a1[1] * (x[0, 0] - 1) + 0.5 * (x[0, 1] - 1)
    ref = torch.cat([v1 / v1.norm(), v2 / v2.norm()]) / math.sqrt(2)
    torch.testing.assert_close(agg(x)[0], ref)
    assert agg.out_channels == 6


def test_netvlad_videolt_variant_hand_computed():
    """No centres, gate sigmoid(G): V_k = sigmoid(G_k) * sum_n a_nk x_n."""
    agg = build(
        'NetVLAD',
        in_channels=3,
        num_clusters=2,
        hidden_channels=None,
        subtract_centers=False,
        gate=True,
        intra_norm=False,
        l2_norm=False,
    )
    assert agg.centers is None
    with torch.no_grad():
        agg.assign.weight.zero_()
        agg.assign.bias.zero_()
        agg.gate.copy_(
            torch.tensor(
                [[0.0, math.log(3.0), 0.0], [0.0, 0.0, -math.log(3.0)]]
            )
        )
    x = torch.tensor([[[1.0, 0.0, 4.0], [0.0, 2.0, 0.0]]])
    # sum_n a_nk x_n = [.5, 1, 2] for both k; sigmoid(log 3) = .75
    expected = torch.tensor([[0.25, 0.75, 1.0, 0.25, 0.5, 0.5]])
    torch.testing.assert_close(agg(x), expected)


def test_netvlad_weights_on_features_hand_computed():
    """``weight_mode='features'``: x_n <- w_n x_n, then the assignment of
    the scaled frames (logit of cluster 1 = first coordinate)."""
    agg = build(
        'NetVLAD',
        in_channels=3,
        num_clusters=2,
        hidden_channels=None,
        weight_mode='features',
    )
    with torch.no_grad():
        agg.assign.weight.zero_()
        agg.assign.weight[0, 0] = 1.0
        agg.assign.bias.zero_()
        agg.centers.copy_(torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))
    x = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    w = torch.tensor([[2.0, 0.5]])
    # scaled frames [2, 0, 0] and [0, 1, 0]; logits [2, 0] and [0, 0]
    p = math.exp(2.0) / (math.exp(2.0) + 1.0)
    v1 = torch.tensor([2.0 * p, 0.5, 0.0])
    v2 = (1 - p) * torch.tensor([1.0, -1.0, -1.0]) + 0.5 * torch.tensor(
        [-1.0, 0.0, -1.0]
    )
    ref = torch.cat([v1 / v1.norm(), v2 / v2.norm()]) / math.sqrt(2)
    torch.testing.assert_close(agg(x, w)[0], ref)
    # the default scales the assignment of the unscaled frames instead:
    # logits [1, 0] and [0, 0]
    agg.weight_mode = 'assignment'
    q = math.e / (math.e + 1.0)
    u1 = torch.tensor([2.0 * q, 0.5, 0.0])
    u2 = 2.0 * (1 - q) * torch.tensor([0.0, -1.0, -1.0]) + 0.25 * torch.tensor(
        [-1.0, 1.0, -1.0]
    )
    ref = torch.cat([u1 / u1.norm(), u2 / u2.norm()]) / math.sqrt(2)
    torch.testing.assert_close(agg(x, w)[0], ref)


def test_netvlad_mean_branch_hand_computed():
    """``mean_branch``: [sum w x / sum w; VLAD], uniform assignment."""
    agg = build(
        'NetVLAD',
        in_channels=3,
        num_clusters=2,
        hidden_channels=None,
        mean_branch=True,
    )
    with torch.no_grad():
        agg.assign.weight.zero_()
        agg.assign.bias.zero_()
        agg.centers.copy_(torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))
    assert agg.out_channels == 3 + 6
    x = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    w = torch.tensor([[1.0, 3.0]])
    # mean (x1 + 3 x2) / 4; V_1 = .5 x1 + 1.5 x2 = [.5, 3, 0];
    # V_2 = .5 (x1 - c2) + 1.5 (x2 - c2) = [-1.5, 1, -2]
    r1, r2 = math.sqrt(9.25) * math.sqrt(2), math.sqrt(7.25) * math.sqrt(2)
    expected = torch.tensor(
        [
            [
                0.25,
                1.5,
                0.0,
                0.5 / r1,
                3.0 / r1,
                0.0,
                -1.5 / r2,
                1.0 / r2,
                -2.0 / r2,
            ]
        ]
    )
    torch.testing.assert_close(agg(x, w), expected)
    # without weights: the plain mean [.5, 1, 0] first
    torch.testing.assert_close(agg(x)[0, :3], torch.tensor([0.5, 1.0, 0.0]))
    # with the projection: D + hidden
    assert build('NetVLAD', mean_branch=True).out_channels == D + 5


def test_nextvlad_hand_computed():
    """D = 2, expansion 1, G = 2 groups of D' = 1, K = 2: every group
    attention and assignment is 1/2, so V_k = sum_ng (x_ng - c_k) / 4."""
    agg = build(
        'NeXtVLAD',
        in_channels=2,
        num_clusters=2,
        expansion=1,
        groups=2,
        hidden_channels=None,
        assign_norm=False,
        intra_norm=False,
        l2_norm=False,
    )
    with torch.no_grad():
        agg.expand.weight.copy_(torch.eye(2))
        agg.expand.bias.zero_()
        agg.group_attention.weight.zero_()
        agg.group_attention.bias.zero_()
        agg.assign.weight.zero_()
        agg.assign.bias.zero_()
        agg.centers.copy_(torch.tensor([[1.0], [5.0]]))
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    torch.testing.assert_close(agg(x), torch.tensor([[1.5, -2.5]]))
    # frame 2 removed: (0 + 1) / 4 and (-4 - 3) / 4
    torch.testing.assert_close(
        agg(x, torch.tensor([[1.0, 0.0]])), torch.tensor([[0.25, -1.75]])
    )
    assert agg.out_channels == 2
    with pytest.raises(ValueError, match='groups=3 must divide'):
        build('NeXtVLAD', in_channels=2, expansion=1, groups=3)


def test_attention_pooling_hand_computed():
    """One head, identity maps: p = softmax(q . x_n / sqrt(3)) with the mean
    frame q, y = LayerNorm(sum_n p_n x_n)."""
    agg = build(
        'AttentionPooling',
        in_channels=3,
        num_heads=1,
        key_channels=3,
        value_channels=3,
        residual=False,
    )
    with torch.no_grad():
        for lin in (agg.query, agg.key, agg.value, agg.out):
            lin.weight.copy_(torch.eye(3))
            lin.bias.zero_()
    x = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    s = torch.tensor([2.0 / math.sqrt(3), 0.5 / math.sqrt(3)])
    p = torch.exp(s) / torch.exp(s).sum()
    pooled = p[0] * x[0, 0] + p[1] * x[0, 1]
    torch.testing.assert_close(agg(x)[0], F.layer_norm(pooled, (3,)))
    # frame 2 removed: the query is x_1 and all attention goes to x_1
    out = agg(x, torch.tensor([[2.0, 0.0]]))
    torch.testing.assert_close(out[0], F.layer_norm(x[0, 0], (3,)))
    # weights multiply the softmax numerators: p ~ w_n exp(s_n), and the
    # query is the weighted mean frame
    w = torch.tensor([1.0, 3.0])
    q = (x[0, 0] + 3 * x[0, 1]) / 4
    s = torch.stack([q @ x[0, 0], q @ x[0, 1]]) / math.sqrt(3)
    p = w * torch.exp(s) / (w * torch.exp(s)).sum()
    torch.testing.assert_close(
        agg(x, w[None])[0], F.layer_norm(p @ x[0], (3,))
    )


def test_mean_pooling_hand_computed():
    agg = build('MeanPooling', in_channels=2)
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    torch.testing.assert_close(agg(x), torch.tensor([[2.0, 3.0]]))
    torch.testing.assert_close(
        agg(x, torch.tensor([[1.0, 3.0]])), torch.tensor([[2.5, 3.5]])
    )


@pytest.mark.parametrize('name', list(SMALL))
def test_permutation_invariance(name):
    torch.manual_seed(0)
    agg = build(name).train()
    x, w = torch.randn(4, 6, D), torch.rand(4, 6)
    perm = torch.randperm(6)
    torch.manual_seed(1)
    out = agg(x, w)
    torch.manual_seed(1)
    out_perm = agg(x[:, perm], w[:, perm])
    torch.testing.assert_close(out, out_perm)
    agg.eval()
    torch.testing.assert_close(agg(x), agg(x[:, perm]))


@pytest.mark.parametrize('name', list(SMALL))
def test_zero_weight_frames_removed_exactly(name):
    """A weight-0 frame changes nothing, also in training mode (BatchNorm
    statistics): same output as without the frame, and whatever its values.
    """
    torch.manual_seed(0)
    agg = build(name).train()
    x, w = torch.randn(4, 6, D), torch.rand(4, 6) + 0.1
    w[:, 2] = 0
    keep = [0, 1, 3, 4, 5]
    ref = build(name).train()
    ref.load_state_dict(agg.state_dict())
    out = agg(x, w)
    out_ref = ref(x[:, keep], w[:, keep])
    torch.testing.assert_close(out, out_ref)
    for (k, a), b in zip(agg.state_dict().items(), ref.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
    # a different frame removed in each video: its values do not matter
    w2 = torch.rand(4, 6) + 0.1
    w2[torch.arange(4), torch.tensor([0, 3, 5, 1])] = 0
    x2 = torch.where(w2[..., None] > 0, x, torch.randn_like(x) * 100)
    torch.testing.assert_close(agg(x, w2), agg(x2, w2))
    agg.eval()
    torch.testing.assert_close(agg(x, w2), agg(x2, w2))
    # all-ones weights are the unweighted aggregation
    torch.testing.assert_close(agg(x, torch.ones(4, 6)), agg(x))


@pytest.mark.parametrize('name', list(SMALL))
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    agg = build(name).train()
    x = torch.randn(4, 6, D)
    w = torch.rand(4, 6, requires_grad=True)
    out = agg(x, w)
    assert out.shape == (4, agg.out_channels)
    (out * torch.randn_like(out)).sum().backward()
    for key, p in agg.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, key
    if name != 'MeanPooling':
        assert w.grad.abs().sum() > 0


@pytest.mark.parametrize('name', list(SMALL))
def test_shape_errors_name_expected_shape(name):
    agg = build(name)
    with pytest.raises(
        ValueError,
        match=r'expects frame features '
        r'\[B, N, 8\] \(in_channels=8\), got \(2, 3, 7\)',
    ):
        agg(torch.randn(2, 3, 7))
    with pytest.raises(ValueError, match=r'got \(6, 8\)'):
        agg(torch.randn(6, 8))
    with pytest.raises(
        ValueError,
        match=r'frame weights \[B, N\] = '
        r'\(2, 3\) for features \(2, 3, 8\), got \(2, 4\)',
    ):
        agg(torch.randn(2, 3, 8), torch.ones(2, 4))


def test_vlad_sizes_and_errors():
    agg = MODELS.build(dict(type='NetVLAD', in_channels=2048))
    # the VideoLT projection: 64 * 2048 -> 1024 = 134 M weights
    assert agg.proj.fc.weight.numel() == 64 * 2048 * 1024
    assert agg.out_channels == 1024
    with pytest.raises(ValueError, match='num_clusters must be >= 1'):
        build('NetVLAD', num_clusters=0)
    with pytest.raises(ValueError, match="act='gelu' is not supported"):
        build('NetVLAD', hidden_act='gelu')
    with pytest.raises(
        ValueError,
        match=r"weight_mode='frames' is not supported; expected one of "
        r"\('assignment', 'features'\)",
    ):
        build('NetVLAD', weight_mode='frames')


@pytest.mark.parametrize('momentum', [0.1, None])
def test_masked_batch_norm_matches_batch_norm_on_kept_frames(momentum):
    torch.manual_seed(0)
    bn, ref = (
        nn.BatchNorm1d(3, momentum=momentum),
        nn.BatchNorm1d(3, momentum=momentum),
    )
    with torch.no_grad():
        bn.weight.uniform_()
        bn.bias.uniform_()
    ref.load_state_dict(bn.state_dict())
    x, w = torch.randn(2, 4, 3), torch.rand(2, 4)
    w[0, 1] = w[1, 3] = 0
    keep = w.reshape(-1) > 0
    for _ in range(2):
        out = masked_batch_norm(bn, x, w).reshape(8, 3)[keep]
        torch.testing.assert_close(out, ref(x.reshape(8, 3)[keep]))
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(bn.state_dict()[key], value, msg=key)
    bn.eval(), ref.eval()
    torch.testing.assert_close(
        masked_batch_norm(bn, x, w), ref(x.reshape(8, 3)).reshape(2, 4, 3)
    )
