"""MultiLabelMixup and FrameStack on tiny tensors; FrameStackAPHook."""

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope
from scipy.stats import kstest
from sklearn.metrics import average_precision_score

import meid_mmaction  # noqa: F401
from meid_mmaction.engine.hooks import FrameStackAPHook
from meid_mmaction.utils import get_gt_label, set_gt_label


def samples(targets):
    return [set_gt_label(ActionDataSample(), t.clone()) for t in targets]


class FixedPerm:
    """Stands in for the step generator: a chosen permutation."""

    def __init__(self, perm):
        self.perm = np.asarray(perm)

    def permutation(self, n):
        assert n == len(self.perm)
        return self.perm


def clips(num_videos, num_frames=5):
    """x[b, t] = 10 b + t, D = 1."""
    x = torch.arange(num_videos)[:, None] * 10 + torch.arange(num_frames)
    return x[:, :, None].float()


Y = torch.tensor(
    [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
)


# -------------------------------------------------------------- FrameStack
def test_framestack_exact_frames_order_and_targets():
    fs = MODELS.build(dict(type='FrameStack', num_classes=3))
    fs.set_class_ap([0.6, 0.0, 0.3])
    # ap_0 = 0.6 / 3 = 0.2, ap_1 = 0.3 / 3 = 0.1; pairs 0 <-> 1
    out, targets = fs.blend(clips(4), Y, FixedPerm([1, 0]))
    # video 0: beta = 0.2 / 0.3 = 2/3 -> int(10/3) = 3 frames of video 1
    # (indices 0, 2, 4), then 2 of itself (0, 4)
    assert out[0, :, 0].tolist() == [10, 12, 14, 0, 4]
    # video 1: beta = 1/3 -> 1 frame of video 0 (index 0), then 4 of itself
    # (floor(linspace(0, 4, 4)) = 0, 1, 2, 4)
    assert out[1, :, 0].tolist() == [0, 10, 11, 12, 14]
    torch.testing.assert_close(targets[0], Y[0] / 3 + 2 * Y[1] / 3)
    torch.testing.assert_close(targets[1], 2 * Y[1] / 3 + Y[0] / 3)
    # the second half is untouched
    assert torch.equal(out[2:], clips(4)[2:])
    assert torch.equal(targets[2:], Y[2:])


def test_framestack_beta_one_half_when_aps_are_zero():
    fs = MODELS.build(dict(type='FrameStack', num_classes=3))
    x = clips(4).unsqueeze(1)  # [B, 1, N, D] as the preprocessor gives
    out, targets = fs.blend(x, Y, FixedPerm([1, 0]))
    assert out.shape == (4, 1, 5, 1)
    # int(0.5 * 5) = 2 partner frames (0, 4), 3 own frames (0, 2, 4)
    assert out[0, 0, :, 0].tolist() == [10, 14, 0, 2, 4]
    assert out[1, 0, :, 0].tolist() == [0, 4, 10, 12, 14]
    torch.testing.assert_close(targets[0], 0.5 * (Y[0] + Y[1]))


def test_framestack_allocation_follows_the_ap():
    # video 0's classes have the high AP: it keeps few of its own frames
    fs = MODELS.build(dict(type='FrameStack', num_classes=3, ratio=1.0))
    fs.set_class_ap([0.9, 0.15, 0.15])
    _, betas, src_video, _ = fs.plan(Y[:2], 10, FixedPerm([1, 0]))
    # ap_0 = 0.9 / 3 = 0.3, ap_1 = 0.3 / 3 = 0.1: beta = 0.75 and 0.25
    np.testing.assert_allclose(betas, [0.75, 0.25])
    # int(7.5) = 7 partner frames for video 0, int(2.5) = 2 for video 1
    assert (src_video[0] == 0).sum() == 3 and (src_video[1] == 1).sum() == 8


def test_framestack_through_data_samples_deterministic_and_resumable():
    a = MODELS.build(dict(type='FrameStack', num_classes=3, seed=4))
    b = MODELS.build(dict(type='FrameStack', num_classes=3, seed=4))
    x = clips(8, 6).unsqueeze(1)
    y = Y.repeat(2, 1)
    runs = []
    for module in (a, b):
        out = []
        for _ in range(3):
            inputs, data = module(x, samples(y))
            out.append((inputs, torch.stack([get_gt_label(d) for d in data])))
        runs.append(out)
    for (xa, ya), (xb, yb) in zip(*runs):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert int(a.num_steps) == 3
    assert set(a.state_dict()) == {'num_steps', 'class_ap', 'epoch'}
    c = MODELS.build(dict(type='FrameStack', num_classes=3, seed=4))
    c.load_state_dict(dict(a.state_dict(), num_steps=torch.tensor(2)))
    xc, _ = c(x, samples(y))
    assert torch.equal(xc, runs[0][2][0])


def test_framestack_errors():
    fs = MODELS.build(dict(type='FrameStack', num_classes=3))
    with pytest.raises(ValueError, match='one view per training video'):
        fs(torch.zeros(4, 2, 5, 1), samples(Y))
    with pytest.raises(
        ValueError, match='got 2 class APs, expected num_classes=3'
    ):
        fs.set_class_ap([0.1, 0.2])
    with pytest.raises(ValueError, match='finite values in \\[0, 1\\]'):
        fs.set_class_ap([0.1, 2.0, 0.0])
    with pytest.raises(ValueError, match='ratio must be in \\[0, 1\\]'):
        MODELS.build(dict(type='FrameStack', num_classes=3, ratio=1.5))
    masked = samples(Y)
    masked[0].set_metainfo(dict(drawn_class=0))
    with pytest.raises(
        ValueError, match='FrameStack mixes targets, which the label mask'
    ):
        fs(clips(4), masked)


# ------------------------------------------------------------------ mixup
def test_mixup_exact_on_a_tiny_batch():
    mix = MODELS.build(dict(type='MultiLabelMixup', num_classes=3, seed=1))
    x = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[3.0, 3.0]]])
    y = Y[:3]
    out, data = mix(x, samples(y))
    lam = mix.last_lambda
    targets = torch.stack([get_gt_label(d) for d in data])
    # every row is lam * itself + (1 - lam) * one row of the batch, the
    # partners form a permutation, and targets follow the same partner
    partners = []
    for i in range(3):
        match = [
            j
            for j in range(3)
            if torch.allclose(out[i], lam * x[i] + (1 - lam) * x[j])
        ]
        assert len(match) == 1
        partners.append(match[0])
        torch.testing.assert_close(
            targets[i], lam * y[i] + (1 - lam) * y[match[0]]
        )
    assert sorted(partners) == [0, 1, 2]


def test_mixup_lambda_follows_beta():
    mix = MODELS.build(
        dict(type='MultiLabelMixup', num_classes=3, alpha=0.4, seed=2)
    )
    lams = []
    for _ in range(400):
        mix(torch.zeros(2, 1, 1, 1), samples(Y[:2]))
        lams.append(mix.last_lambda)
    assert kstest(lams, 'beta', args=(0.4, 0.4)).pvalue > 1e-4
    with pytest.raises(ValueError, match='alpha must be > 0'):
        MODELS.build(dict(type='MultiLabelMixup', num_classes=3, alpha=0))


def test_blending_in_the_data_preprocessor_training_only():
    pre = MODELS.build(
        dict(
            type='ActionDataPreprocessor',
            blending=dict(type='MultiLabelMixup', num_classes=3),
        )
    )
    data = dict(
        inputs=[t for t in clips(3).unsqueeze(1)], data_samples=samples(Y[:3])
    )
    out = pre(dict(data), training=False)
    assert torch.equal(out['inputs'], clips(3).unsqueeze(1))
    out = pre(
        dict(inputs=data['inputs'], data_samples=samples(Y[:3])), training=True
    )
    assert not torch.equal(out['inputs'], clips(3).unsqueeze(1))
    assert int(pre.blending.num_steps) == 1


# ------------------------------------------------------------ the AP hook
class _Head(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.loss_cls = MODELS.build(dict(type='MultiLabelFocalLoss'))


class _Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = _Head()
        self.fs = MODELS.build(dict(type='FrameStack', num_classes=3))


def test_ap_hook_measures_the_epoch_and_hands_it_over():
    runner = type('R', (), {})()
    runner.model = _Model()
    runner.epoch = 0
    hook = FrameStackAPHook()
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(size=(12, 3)), dtype=torch.float32)
    targets = torch.tensor(rng.random((12, 3)) < 0.4, dtype=torch.float32)
    targets[:, 2] = 0  # class 2 has no positive: AP 0
    targets[0] *= 0.5  # a stacked (soft) target still marks its classes
    hook.before_train_epoch(runner)
    for part in range(3):
        rows = slice(4 * part, 4 * part + 4)
        runner.model.head.loss_cls(logits[rows], targets[rows])
    hook.after_train_epoch(runner)
    scores = torch.sigmoid(logits).half().float().numpy()
    expected = [
        average_precision_score(targets[:, c] > 0, scores[:, c])
        for c in range(2)
    ] + [0.0]
    np.testing.assert_allclose(
        runner.model.fs.class_ap.numpy(), expected, rtol=1e-6
    )
    # nothing is recorded between epochs
    runner.model.head.loss_cls(logits, targets)
    assert hook._scores == []


@pytest.mark.parametrize(
    'head',
    [
        dict(type='NonlinearClsHead'),
        dict(
            type='AggregatorClsHead',
            aggregators=[
                dict(type='NetVLAD', num_clusters=2, hidden_channels=8)
            ],
        ),
        dict(type='MEIDHead', loss_distill=None),
    ],
    ids=['nonlinear', 'aggregator', 'meid_stage1'],
)
@pytest.mark.parametrize('blending', ['FrameStack', 'MultiLabelMixup'])
def test_blending_with_every_head_and_the_ap_hook(head, blending):
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='FeatureRecognizer',
            cls_head=dict(head, num_classes=3, in_channels=4),
            data_preprocessor=dict(
                type='ActionDataPreprocessor',
                blending=dict(type=blending, num_classes=3),
            ),
        )
    )
    runner = type('R', (), {})()
    runner.model = model
    runner.epoch = 0
    hook = FrameStackAPHook()
    hook.before_train_epoch(runner)
    for _ in range(2):
        batch = model.data_preprocessor(
            dict(
                inputs=list(torch.randn(4, 1, 6, 4)), data_samples=samples(Y)
            ),
            training=True,
        )
        model.train()
        losses = model(**batch, mode='loss')
        sum(losses.values()).backward()
    hook.after_train_epoch(runner)
    if blending == 'FrameStack':
        ap = model.data_preprocessor.blending.class_ap
        assert bool((ap > 0).any()) and len(hook._scores) == 0
    assert int(model.data_preprocessor.blending.num_steps) == 2


def test_endpoint_positions_equal_numpy_linspace_floors():
    """The device-side frame positions of FrameStack are bit-identical to
    ``floor(np.linspace(0, N - 1, count))`` for every N <= 130 and count."""
    from meid_mmaction.models.blending.base_blending import (
        endpoint_frame_positions,
    )

    for n in range(1, 131):
        counts = torch.arange(n + 1)[:, None]  # [n + 1, 1]
        got = endpoint_frame_positions(n, torch.arange(n)[None], counts)
        for count in range(n + 1):
            ref = np.floor(np.linspace(0, n - 1, count)).astype(np.int64)
            assert got[count, :count].tolist() == ref.tolist(), (n, count)
