"""ClassBalancedLoss, LDAMLoss (DRW) and EQLLoss on hand-computed cases."""

import math

import pytest
import torch
from mmaction.registry import MODELS
from scipy.stats import binomtest

import meid_mmaction  # noqa: F401
from meid_mmaction.models.losses import (
    EQLLoss,
    LDAMLoss,
    class_balanced_weights,
    ldam_margins,
)


def bce(x, y):
    """Binary cross-entropy of one logit, by hand."""
    p = 1 / (1 + math.exp(-x))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def reduce(rows, reduction):
    """rows: list of per-class lists."""
    flat = [v for r in rows for v in r]
    if reduction == 'mean':
        return sum(flat) / len(flat)
    if reduction == 'sum':
        return sum(flat)
    return sum(sum(r) for r in rows) / len(rows)  # batch_sum


LOGITS = torch.tensor(
    [[1.0, -1.0, 2.0], [0.5, 0.0, -2.0]], dtype=torch.float64
)
TARGETS = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
REDUCTIONS = ['mean', 'sum', 'batch_sum']


# ---------------------------------------------------------------- CB loss
def cb_weights_by_hand(counts, beta):
    w = [(1 - beta) / (1 - beta**n) for n in counts]
    return [3 * v / sum(w) for v in w]


def test_class_balanced_weights():
    w = class_balanced_weights(torch.tensor([100, 10, 1]), beta=0.9)
    torch.testing.assert_close(
        w,
        torch.tensor(
            cb_weights_by_hand([100, 10, 1], 0.9), dtype=torch.float64
        ),
    )
    assert w.sum().item() == pytest.approx(3)
    # beta = 0: all weights equal
    w0 = class_balanced_weights(torch.tensor([100, 10, 1]), beta=0.0)
    torch.testing.assert_close(w0, torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize('reduction', REDUCTIONS)
def test_cb_bce_hand_computed(reduction):
    loss = MODELS.build(
        dict(
            type='ClassBalancedLoss',
            beta=0.9,
            class_counts=[100, 10, 1],
            reduction=reduction,
            loss_weight=2.0,
        )
    )
    w = cb_weights_by_hand([100, 10, 1], 0.9)
    rows = [
        [
            w[c] * bce(LOGITS[i, c].item(), TARGETS[i, c].item())
            for c in range(3)
        ]
        for i in range(2)
    ]
    out = loss(LOGITS, TARGETS)
    assert out.item() == pytest.approx(2 * reduce(rows, reduction), rel=1e-9)
    none = MODELS.build(
        dict(
            type='ClassBalancedLoss',
            beta=0.9,
            class_counts=[100, 10, 1],
            reduction='none',
        )
    )
    torch.testing.assert_close(
        none(LOGITS, TARGETS), torch.tensor(rows, dtype=torch.float64)
    )
    mask = torch.tensor(
        [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.float64
    )
    masked = none(LOGITS, TARGETS, loss_mask=mask)
    expected = torch.tensor(rows, dtype=torch.float64)
    expected[0, 2] = 0
    torch.testing.assert_close(masked, expected)


def test_cb_focal_hand_computed():
    loss = MODELS.build(
        dict(
            type='ClassBalancedLoss',
            beta=0.9,
            class_counts=[100, 10, 1],
            base='focal',
            gamma=2.0,
            reduction='none',
        )
    )
    w = cb_weights_by_hand([100, 10, 1], 0.9)
    expected = []
    for i in range(2):
        row = []
        for c in range(3):
            x, y = LOGITS[i, c].item(), TARGETS[i, c].item()
            p = 1 / (1 + math.exp(-x))
            pt = p if y == 1 else 1 - p
            row.append(w[c] * (1 - pt) ** 2 * bce(x, y))
        expected.append(row)
    torch.testing.assert_close(
        loss(LOGITS, TARGETS), torch.tensor(expected, dtype=torch.float64)
    )


# ------------------------------------------------------------------- LDAM
def test_ldam_margins():
    # n^(-1/4) = 0.5, 1/3, 1 -> scaled to max 0.5
    torch.testing.assert_close(
        ldam_margins(torch.tensor([16, 81, 1])),
        torch.tensor([0.25, 1 / 6, 0.5], dtype=torch.float64),
    )


@pytest.mark.parametrize('reduction', REDUCTIONS)
def test_ldam_video_margin_with_several_positives(reduction):
    loss = LDAMLoss(
        class_counts=[16, 81, 1],
        scale=2.0,
        drw_epoch=None,
        reduction=reduction,
    )
    # video 0: positives {0, 2} -> m = 0.25 + 0.5 = 0.75 on both positives
    # video 1: positive {1} -> m = 1/6
    rows = [
        [bce(2 * (1.0 - 0.75), 1), bce(2 * -1.0, 0), bce(2 * (2.0 - 0.75), 1)],
        [bce(2 * 0.5, 0), bce(2 * (0.0 - 1 / 6), 1), bce(2 * -2.0, 0)],
    ]
    assert loss(LOGITS, TARGETS).item() == pytest.approx(
        reduce(rows, reduction), rel=1e-9
    )


def test_ldam_per_class_margin_option():
    loss = LDAMLoss(
        class_counts=[16, 81, 1],
        scale=2.0,
        drw_epoch=None,
        margin_mode='per_class',
        reduction='none',
    )
    rows = [
        [bce(2 * 0.75, 1), bce(-2.0, 0), bce(2 * 1.5, 1)],
        [bce(1.0, 0), bce(2 * (-1 / 6), 1), bce(-4.0, 0)],
    ]
    torch.testing.assert_close(
        loss(LOGITS, TARGETS), torch.tensor(rows, dtype=torch.float64)
    )


def test_drw_weights_before_and_after_the_switch():
    loss = LDAMLoss(
        class_counts=[16, 81, 1],
        scale=2.0,
        drw_epoch=3,
        drw_beta=0.9,
        reduction='none',
    )
    plain = LDAMLoss(
        class_counts=[16, 81, 1], scale=2.0, drw_epoch=None, reduction='none'
    )(LOGITS, TARGETS)
    for epoch in (0, 2):
        loss.set_train_epoch(epoch)
        assert not loss.drw_active
        torch.testing.assert_close(loss(LOGITS, TARGETS), plain)
    w = torch.tensor(cb_weights_by_hand([16, 81, 1], 0.9), dtype=torch.float64)
    for epoch in (3, 7):
        loss.set_train_epoch(epoch)
        assert loss.drw_active
        torch.testing.assert_close(loss(LOGITS, TARGETS), plain * w)


# -------------------------------------------------------------------- EQL
def test_eql_threshold_form_hand_computed():
    # tail (n <= 10): classes 1 and 2; their negatives are dropped
    loss = EQLLoss(
        class_counts=[100, 10, 1],
        mode='threshold',
        tail_thr=10,
        reduction='none',
    )
    rows = [[bce(1.0, 1), 0.0, bce(2.0, 1)], [bce(0.5, 0), bce(0.0, 1), 0.0]]
    torch.testing.assert_close(
        loss(LOGITS, TARGETS), torch.tensor(rows, dtype=torch.float64)
    )
    freq = EQLLoss(
        class_counts=[100, 10, 1],
        mode='threshold',
        tail_freq=0.05,
        reduction='batch_sum',
    )
    # shares 100/111, 10/111 = 0.09, 1/111 = 0.009: only class 2 is tail
    expected = (
        bce(1.0, 1)
        + bce(-1.0, 0)
        + bce(2.0, 1)
        + bce(0.5, 0)
        + bce(0.0, 1)
        + 0.0
    ) / 2
    assert freq(LOGITS, TARGETS).item() == pytest.approx(expected, rel=1e-9)


def test_eql_random_form_is_seeded_and_resumable():
    targets = torch.zeros(64, 3)
    targets[:, 0] = 1.0
    logits = torch.zeros(64, 3)
    a = EQLLoss(
        class_counts=[100, 10, 1],
        tail_thr=10,
        drop_prob=0.3,
        seed=7,
        reduction='none',
    )
    b = EQLLoss(
        class_counts=[100, 10, 1],
        tail_thr=10,
        drop_prob=0.3,
        seed=7,
        reduction='none',
    )
    steps_a = [a(logits, targets) for _ in range(3)]
    steps_b = [b(logits, targets) for _ in range(3)]
    for x, y in zip(steps_a, steps_b):
        assert torch.equal(x, y)
    assert not torch.equal(steps_a[0], steps_a[1])  # fresh draws per step
    assert int(a.num_steps) == 3
    # a checkpoint taken after step 1 continues with step 2's draws
    c = EQLLoss(
        class_counts=[100, 10, 1],
        tail_thr=10,
        drop_prob=0.3,
        seed=7,
        reduction='none',
    )
    c.load_state_dict(dict(num_steps=torch.tensor(2)))
    assert torch.equal(c(logits, targets), steps_a[2])
    other = EQLLoss(
        class_counts=[100, 10, 1],
        tail_thr=10,
        drop_prob=0.3,
        seed=8,
        reduction='none',
    )
    assert not torch.equal(other(logits, targets), steps_a[0])


def test_eql_tail_from_the_dataset_grouping():
    loss = EQLLoss(
        class_counts=[100, 10, 1], mode='threshold', reduction='none'
    )
    with pytest.raises(ValueError, match='EQLLoss: no tail classes'):
        loss(LOGITS, TARGETS)
    loss.set_class_groups(dict(head=[0], medium=[1], tail=[2]))
    assert loss.tail_mask().tolist() == [0.0, 0.0, 1.0]
    out = loss(LOGITS, TARGETS)
    assert out[1, 2].item() == 0 and out[1, 0].item() > 0
    with pytest.raises(ValueError, match='give tail_thr or tail_freq, not'):
        EQLLoss(tail_thr=3, tail_freq=0.1)


def test_eql_random_drop_rate_is_right():
    counts = [100, 10, 1]
    loss = EQLLoss(
        class_counts=counts,
        tail_thr=10,
        drop_prob=0.1,
        seed=3,
        reduction='none',
    )
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    targets = targets.repeat(200, 1)  # 600 videos
    logits = torch.zeros_like(targets)
    full = bce(0.0, 0)
    dropped = kept_other = 0
    trials = 0
    for _ in range(5):
        out = loss(logits, targets)
        tail_neg = (targets == 0) & torch.tensor([False, True, True])
        dropped += int((out[tail_neg] == 0).sum())
        trials += int(tail_neg.sum())
        kept_other += int((out[~tail_neg] == 0).sum())
        assert torch.allclose(out[out != 0], torch.tensor(full))
    assert kept_other == 0  # positives and head negatives never dropped
    assert binomtest(dropped, trials, 0.1).pvalue > 1e-4
    assert dropped / trials == pytest.approx(0.1, abs=0.02)


# ---------------------------------------------------------- counts / errors
def test_counts_wait_for_the_hook_and_config_counts_win():
    loss = MODELS.build(dict(type='ClassBalancedLoss'))
    with pytest.raises(
        ValueError,
        match='class counts are unknown; give '
        "'class_counts' in the loss config or train with "
        "custom_hooks=\\[dict\\(type='LongTailLossHook'\\)",
    ):
        loss(LOGITS, TARGETS)
    loss.set_class_counts((100, 10, 1))
    assert loss.class_counts.tolist() == [100, 10, 1]
    assert 'class_counts' not in loss.state_dict()  # not in checkpoints
    fixed = LDAMLoss(class_counts=[5, 5, 5])
    fixed.set_class_counts([1, 2, 3])
    assert fixed.class_counts.tolist() == [5, 5, 5]
    with pytest.raises(
        ValueError, match='config has 3 classes but the training dataset has 2'
    ):
        fixed.set_class_counts([1, 2])
    with pytest.raises(
        ValueError, match='logits \\(2, 3\\) do not match the 4 class counts'
    ):
        LDAMLoss(class_counts=[1, 2, 3, 4])(LOGITS, TARGETS)


@pytest.mark.parametrize(
    'cfg, message',
    [
        (
            dict(type='ClassBalancedLoss', base='softmax'),
            "base='softmax' is not",
        ),
        (
            dict(type='ClassBalancedLoss', beta=1.0),
            'beta must be in \\[0, 1\\)',
        ),
        (
            dict(type='ClassBalancedLoss', class_counts=[1, -2]),
            'class_counts must be a non-empty 1-D sequence of ints >= 0',
        ),
        (
            dict(type='ClassBalancedLoss', class_counts=[1.5]),
            'class_counts must be a non-empty',
        ),
        (dict(type='LDAMLoss', margin_mode='max'), "margin_mode='max' is not"),
        (dict(type='LDAMLoss', drw_epoch=-1), 'drw_epoch must be an int >= 0'),
        (dict(type='LDAMLoss', scale=0), 'max_margin and scale must be > 0'),
        (dict(type='EQLLoss', mode='soft'), "mode='soft' is not one of"),
        (dict(type='EQLLoss', drop_prob=2), 'drop_prob must be in \\[0, 1\\]'),
        (
            dict(type='EQLLoss', reduction='avg'),
            "reduction='avg' is not one of",
        ),
    ],
)
def test_bad_arguments(cfg, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(cfg)
