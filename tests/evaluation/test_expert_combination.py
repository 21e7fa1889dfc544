"""Choosing MEID's expert combination on validation scores (hand-built
logits whose best combination is known; mAP checked against sklearn)."""

import math

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from sklearn.metrics import average_precision_score

import meid_mmaction  # noqa: F401
from meid_mmaction.engine.hooks.expert_combination_hook import choose_for_head
from meid_mmaction.evaluation.functional import (
    choose_combination,
    combination_candidates,
    format_choice_table,
)

N = 300
LOGIT_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
MIX_GRID = (0.0, 0.3, 0.5, 1.0)
# class 0: expert 1 alone is perfect; class 1: Y + 1.5 Y_F is perfect;
# class 2: the mixture 0.3 s(Y) + 0.7 s(Y_F) is perfect
GROUPS = dict(head=[0], medium=[2], tail=[1])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def data():
    rng = np.random.default_rng(3)
    s1 = rng.normal(scale=0.7, size=(N, 3))
    s2 = rng.normal(scale=0.7, size=(N, 3))
    truth = np.stack(
        [
            s1[:, 0],
            s1[:, 1] + 1.5 * s2[:, 1],
            0.3 * sigmoid(s1[:, 2]) + 0.7 * sigmoid(s2[:, 2]),
        ],
        axis=1,
    )
    labels = (truth > np.quantile(truth, 0.8, axis=0)).astype(np.uint8)
    return s1, s2, labels


def sklearn_map(scores, labels, classes=(0, 1, 2)):
    return float(
        np.mean(
            [
                average_precision_score(labels[:, c], scores[:, c])
                for c in classes
            ]
        )
    )


def candidate_scores(s1, s2, form, value):
    """The candidate's probabilities, written out in numpy (float64)."""
    if form == 'logit':
        return sigmoid(s1 + value * s2)
    return value * sigmoid(s1) + (1 - value) * sigmoid(s2)


def head(mode):
    return MODELS.build(
        dict(
            type='MEIDHead',
            num_classes=3,
            in_channels=4,
            inference=mode,
            auto_logit_grid=LOGIT_GRID,
            auto_mix_grid=MIX_GRID,
        )
    )


def choose(mode):
    s1, s2, labels = data()
    y = torch.tensor(s1, dtype=torch.float32)[:, None]  # [N, V=1, C]
    y_f = torch.tensor(s2, dtype=torch.float32)[:, None]
    return choose_for_head(head(mode), y, y_f, torch.tensor(labels), GROUPS)


def test_candidates_start_with_expert1_and_check_grids():
    assert combination_candidates((1.0, 0.5), (0.5,)) == [
        ('logit', 0.0),
        ('logit', 0.5),
        ('logit', 1.0),
        ('mix', 0.5),
    ]
    assert combination_candidates((2.0,), ()) == [
        ('logit', 0.0),
        ('logit', 2.0),
    ]
    with pytest.raises(ValueError, match=r'auto_logit_grid must be .* \[0.0'):
        combination_candidates((-1.0,))
    with pytest.raises(ValueError, match=r'auto_mix_grid must be .*1.0\]'):
        combination_candidates((1.0,), (1.5,))
    with pytest.raises(ValueError, match='auto_logit_grid'):
        combination_candidates(())


def test_candidate_maps_equal_sklearn():
    s1, s2, labels = data()
    choice = choose('auto')
    for k, (form, value) in enumerate(choice.candidates):
        scores = candidate_scores(s1, s2, form, value)
        assert choice.candidate_map['mAP'][k] == pytest.approx(
            sklearn_map(scores, labels), abs=1e-9
        ), (form, value)
        for g, idx in GROUPS.items():
            assert choice.candidate_map[f'mAP_{g}'][k] == pytest.approx(
                sklearn_map(scores, labels, idx), abs=1e-9
            )


def test_global_choice_is_the_best_candidate_by_sklearn():
    s1, s2, labels = data()
    choice = choose('auto')
    expected = [
        sklearn_map(candidate_scores(s1, s2, f, v), labels)
        for f, v in choice.candidates
    ]
    best = int(np.argmax(expected))
    assert choice.chosen == {'all': best}
    assert choice.chosen_map['mAP'] == pytest.approx(expected[best], abs=1e-9)
    form, value = choice.candidates[best]
    assert choice.form.tolist() == [int(form == 'mix')] * 3
    assert choice.value.tolist() == [value] * 3


def test_per_group_choice_finds_each_groups_known_combination():
    choice = choose('auto_group')
    names = {g: choice.candidates[k] for g, k in choice.chosen.items()}
    assert names == dict(
        head=('logit', 0.0), medium=('mix', 0.3), tail=('logit', 1.5)
    )
    # each group's known combination ranks its class perfectly
    assert choice.chosen_map == dict(
        mAP=1.0, mAP_head=1.0, mAP_medium=1.0, mAP_tail=1.0
    )
    assert choice.form.tolist() == [0, 0, 1]
    np.testing.assert_allclose(choice.value.numpy(), [0.0, 1.5, 0.3])
    # the chosen combination, stored and applied by the head, scores the
    # known mAP (sklearn) on the same data
    s1, s2, labels = data()
    h = head('auto_group')
    h.set_combination(choice.form, choice.value)
    logits = h.combine(
        torch.tensor(s1, dtype=torch.float32),
        torch.tensor(s2, dtype=torch.float32),
    )
    scores = torch.sigmoid(logits).double().numpy()
    assert sklearn_map(scores, labels) == 1.0
    # no global candidate reaches it
    assert max(choice.candidate_map['mAP']) < 1.0
    table = format_choice_table(choice)
    assert '* head' in table and '* tail' in table and '* medium' in table


def test_ties_go_to_expert1_and_empty_groups_take_the_global_choice():
    # a = 0 and w = 1 are the same scores: expert 1 alone (first) wins
    ap = torch.tensor([[0.5, 0.7], [0.5, 0.7], [0.4, 0.2]])
    candidates = [('logit', 0.0), ('mix', 1.0), ('logit', 1.0)]
    choice = choose_combination(ap, candidates)
    assert choice.chosen == {'all': 0}
    # the tail class has no positive (NaN): its group takes the global
    # choice (candidate 1: overall mAP 0.65 > 0.35), the medium group
    # prefers candidate 0
    ap = torch.tensor([[0.5, 0.2, math.nan], [0.4, 0.9, math.nan]])
    choice = choose_combination(
        ap,
        [('logit', 0.0), ('logit', 2.0)],
        dict(head=[1], medium=[0], tail=[2]),
        per_group=True,
    )
    assert choice.chosen == dict(head=1, medium=0, tail=1)
    assert choice.value.tolist() == [0.0, 2.0, 2.0]
    assert choice.chosen_map['mAP'] == pytest.approx((0.5 + 0.9) / 2)
    assert math.isnan(choice.chosen_map['mAP_tail'])


def test_choose_combination_errors():
    ap = torch.rand(2, 3)
    with pytest.raises(ValueError, match=r'K = 3 candidates, got shape'):
        choose_combination(ap, [('logit', 0.0)] * 3)
    with pytest.raises(ValueError, match=r'unknown combination form\(s\) '):
        choose_combination(ap, [('logit', 0.0), ('max', 1.0)])
    with pytest.raises(ValueError, match='per_group=True.* needs the class'):
        choose_combination(ap, [('logit', 0.0)] * 2, per_group=True)
    with pytest.raises(ValueError, match='no class has a positive'):
        choose_combination(
            torch.full((1, 2), math.nan), [('logit', 0.0)], per_group=False
        )
    with pytest.raises(ValueError, match=r'expects Y, Y_F \[N, V, C\]'):
        choose_for_head(
            head('auto'),
            torch.zeros(4, 3),
            torch.zeros(4, 3),
            torch.zeros(4, 3),
        )
