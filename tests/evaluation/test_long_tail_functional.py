"""``long_tail_map``: the evaluator as a function (issue 18, point 7)."""

import doctest
import math

import numpy as np
import pytest
import torch
from mmaction.structures import ActionDataSample
from sklearn.metrics import average_precision_score

import meid_mmaction.evaluation.functional.long_tail as long_tail_module
from meid_mmaction.evaluation.functional import long_tail_map
from meid_mmaction.evaluation.metrics import LongTailMAP
from meid_mmaction.evaluation.reports import read_per_class_csv
from meid_mmaction.utils.compat import set_gt_label, set_pred_score

# 4 classes, 5 videos; class 3 has no positive video.
SCORES = np.array(
    [
        [0.9, 0.1, 0.3, 0.2],
        [0.8, 0.7, 0.2, 0.1],
        [0.2, 0.6, 0.9, 0.3],
        [0.1, 0.2, 0.25, 0.5],
        [0.3, 0.9, 0.1, 0.4],
    ]
)
LABELS = np.array(
    [[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
)
# head_thr=10, tail_thr=3: head [0], medium [1], tail [2, 3]
COUNTS = [20, 5, 2, 1]
# by hand: class 0 ranks + - - + -: (1 + 2/4) / 2; class 1 + + - - -;
# class 2 + - + - -: (1 + 2/3) / 2
AP = [0.75, 1.0, 5 / 6]


def test_doctest():
    result = doctest.testmod(long_tail_module)
    assert result.attempted > 0 and result.failed == 0


def test_hand_computed_groups_and_sklearn_per_class_ap():
    res = long_tail_map(
        SCORES, LABELS, class_counts=COUNTS, head_thr=10, tail_thr=3
    )
    assert res.groups == {'head': [0], 'medium': [1], 'tail': [2, 3]}
    for c in range(3):
        ref = average_precision_score(LABELS[:, c], SCORES[:, c])
        assert res.per_class_ap[c] == pytest.approx(ref, abs=1e-12)
        assert res.per_class_ap[c] == pytest.approx(AP[c], abs=1e-12)
    assert math.isnan(res.per_class_ap[3])
    m = res.metrics
    assert m['mAP'] == pytest.approx((0.75 + 1.0 + 5 / 6) / 3)
    assert m['mAP_head'] == pytest.approx(0.75)
    assert m['mAP_medium'] == pytest.approx(1.0)
    assert m['mAP_tail'] == pytest.approx(5 / 6)  # class 3 left out
    assert m['num_classes_without_positives'] == 1
    # (group, classes, evaluated, no positive, mAP)
    assert [r[:4] for r in res.rows] == [
        ('all', 4, 3, 1),
        ('head', 1, 1, 0),
        ('medium', 1, 1, 0),
        ('tail', 2, 1, 1),
    ]
    assert res.num_positives.tolist() == [2, 2, 2, 0]
    assert '| tail   |       2 |         1 |           1 | 0.8333 |' in (
        res.table()
    )


def test_random_data_matches_sklearn_and_explicit_groups():
    rng = np.random.default_rng(0)
    scores = rng.random((40, 7)).round(1)  # many ties
    labels = (rng.random((40, 7)) < 0.3).astype(np.int64)
    labels[0] = 1  # every class has a positive
    groups = {'head': [0, 1], 'medium': [2, 3, 4], 'tail': [5, 6]}
    res = long_tail_map(torch.from_numpy(scores), labels, groups=groups)
    ref = np.array(
        [average_precision_score(labels[:, c], scores[:, c]) for c in range(7)]
    )
    np.testing.assert_allclose(res.per_class_ap, ref, atol=1e-12)
    for g, idx in groups.items():
        assert res.metrics[f'mAP_{g}'] == pytest.approx(ref[idx].mean())
    assert res.metrics['mAP'] == pytest.approx(ref.mean())
    assert res.class_counts is None
    assert res.names == [f'class_{i}' for i in range(7)]


def test_same_metrics_as_long_tail_map_metric(tmp_path):
    metric = LongTailMAP(
        head_thr=10, tail_thr=3, save_per_class_ap=False, topk=(1,)
    )
    metric.dataset_meta = dict(class_counts=COUNTS)
    samples = []
    for s, y in zip(SCORES, LABELS):
        d = ActionDataSample()
        set_pred_score(d, torch.tensor(s, dtype=torch.float32))
        set_gt_label(d, torch.tensor(y, dtype=torch.float32))
        samples.append(d.to_dict())
    metric.process({}, samples)
    ours = metric.compute_metrics(metric.results)
    res = long_tail_map(
        SCORES.astype(np.float32),
        LABELS,
        class_counts=COUNTS,
        head_thr=10,
        tail_thr=3,
    )
    for key, value in res.metrics.items():
        assert ours[key] == pytest.approx(value)


def test_write_csv_round_trip(tmp_path):
    names = ['walk', 'run', 'swim', 'jump']
    res = long_tail_map(
        SCORES,
        LABELS,
        class_counts=COUNTS,
        head_thr=10,
        tail_thr=3,
        names=names,
    )
    path = str(tmp_path / 'ap.csv')
    res.write_csv(path)
    table = read_per_class_csv(path)
    assert table['class_name'] == names
    assert table['train_count'] == COUNTS
    assert table['group'] == ['head', 'medium', 'tail', 'tail']
    np.testing.assert_allclose(table['ap'][:3], AP)
    assert math.isnan(table['ap'][3])


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(), 'needs class_counts= .* or groups='),
        (dict(class_counts=COUNTS), 'needs head_thr= and tail_thr='),
        (
            dict(class_counts=COUNTS, head_thr=3, tail_thr=10),
            'tail_thr < head_thr',
        ),
        (
            dict(class_counts=[1, 2], head_thr=10, tail_thr=3),
            r'one count per class \(4 score columns\), got shape \(2,\)',
        ),
        (
            dict(groups={'head': [0], 'medium': [1], 'tail': [9]}),
            r"long_tail_map: class_groups\['tail'\] has indices \[9\]",
        ),
        (dict(groups={'head': [0]}), "keys 'head', 'medium' and 'tail'"),
        (
            dict(groups={'head': [0], 'medium': [], 'tail': []}, head_thr=1),
            'either groups= or head_thr=',
        ),
        (
            dict(class_counts=COUNTS, head_thr=10, tail_thr=3, names=['a']),
            r'one name per class \(4 score columns\), got 1',
        ),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        long_tail_map(SCORES, LABELS, **kwargs)


def test_errors_on_scores_and_labels():
    with pytest.raises(ValueError, match='labels must have the shape'):
        long_tail_map(SCORES, LABELS[:, :3], groups={})
    with pytest.raises(ValueError, match='labels must be 0/1'):
        long_tail_map(SCORES, LABELS * 2, class_counts=COUNTS)
