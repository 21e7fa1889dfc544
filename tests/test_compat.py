"""Label / score access across MMAction2 1.1 and 1.2 data samples."""

import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.structures import LabelData

from meid_mmaction.utils import compat
from meid_mmaction.utils.compat import (
    get_gt_label,
    get_pred_score,
    set_gt_label,
    set_pred_score,
    to_multi_hot,
)


@pytest.fixture
def v12(monkeypatch):
    """Write the MMAction2 1.2 field names (``gt_label`` / ``pred_score``)."""
    monkeypatch.setattr(compat, 'USES_V12_FIELDS', True)


def test_installed_version_layout():
    # mmaction 1.1.x (the tested set) has ``gt_labels`` as a property.
    assert compat.USES_V12_FIELDS is (
        not hasattr(ActionDataSample, 'gt_labels')
    )


@pytest.mark.skipif(compat.USES_V12_FIELDS, reason='mmaction 1.1 layout')
def test_gt_label_round_trip_v11():
    ds = ActionDataSample()
    target = torch.tensor([0.0, 1.0, 0.0, 1.0])
    assert set_gt_label(ds, target) is ds
    assert ds.keys() == ['gt_labels']
    assert isinstance(ds.gt_labels, LabelData)
    assert ds.gt_labels.item is target
    assert get_gt_label(ds) is target


@pytest.mark.skipif(compat.USES_V12_FIELDS, reason='mmaction 1.1 layout')
def test_pred_score_round_trip_v11():
    ds = ActionDataSample()
    score = torch.tensor([0.1, 0.9])
    assert set_pred_score(ds, score) is ds
    assert ds.keys() == ['pred_scores']
    assert ds.pred_scores.item is score
    assert get_pred_score(ds) is score


@pytest.mark.skipif(compat.USES_V12_FIELDS, reason='mmaction 1.1 layout')
def test_reads_samples_written_by_mmaction_11():
    # How MMAction2 1.1's own transforms / heads fill a sample.
    ds = ActionDataSample()
    ds.gt_labels = LabelData(item=torch.tensor([7]))
    ds.pred_scores = LabelData(item=torch.tensor([0.5, 0.25]))
    assert torch.equal(get_gt_label(ds), torch.tensor([7]))
    assert torch.equal(get_pred_score(ds), torch.tensor([0.5, 0.25]))


def test_int_and_list_labels_become_tensors():
    ds = set_gt_label(ActionDataSample(), 3)
    label = get_gt_label(ds)
    assert label.dtype == torch.long
    assert label.tolist() == [3]
    ds = set_gt_label(ActionDataSample(), [1, 4])
    assert get_gt_label(ds).tolist() == [1, 4]
    ds = set_pred_score(ActionDataSample(), [0.25, 0.75])
    assert torch.equal(get_pred_score(ds), torch.tensor([0.25, 0.75]))


def test_gt_label_round_trip_v12(v12):
    ds = ActionDataSample()
    target = torch.tensor([1.0, 0.0, 1.0])
    set_gt_label(ds, target)
    assert ds.keys() == ['gt_label']
    assert ds.get('gt_label') is target
    assert 'gt_labels' not in ds
    assert get_gt_label(ds) is target


def test_pred_score_round_trip_v12(v12):
    ds = ActionDataSample()
    score = torch.tensor([0.2, 0.8, 0.5])
    set_pred_score(ds, score)
    assert ds.keys() == ['pred_score']
    assert ds.get('pred_score') is score
    assert get_pred_score(ds) is score


def test_v12_int_label(v12):
    ds = set_gt_label(ActionDataSample(), 5)
    assert ds.get('gt_label').tolist() == [5]
    assert torch.equal(
        to_multi_hot(get_gt_label(ds), 6),
        torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
    )


def test_missing_fields_raise_key_error():
    ds = ActionDataSample()
    ds.set_field(torch.zeros(2), 'other')
    with pytest.raises(
        KeyError, match=r"neither 'gt_label' nor 'gt_labels'.*'other'"
    ):
        get_gt_label(ds)
    with pytest.raises(
        KeyError, match=r"neither 'pred_score' nor 'pred_scores'"
    ):
        get_pred_score(ds)


@pytest.mark.parametrize(
    'label, expected',
    [
        (torch.tensor(2), [0.0, 0.0, 1.0, 0.0, 0.0]),
        (2, [0.0, 0.0, 1.0, 0.0, 0.0]),
        (torch.tensor([1]), [0.0, 1.0, 0.0, 0.0, 0.0]),
        (torch.tensor([0, 3, 3]), [1.0, 0.0, 0.0, 1.0, 0.0]),
        ([4, 0], [1.0, 0.0, 0.0, 0.0, 1.0]),
        (torch.tensor([], dtype=torch.long), [0.0, 0.0, 0.0, 0.0, 0.0]),
        (
            torch.tensor([0, 1, 0, 0, 1], dtype=torch.float64),
            [0.0, 1.0, 0.0, 0.0, 1.0],
        ),
        (torch.tensor([0.25, 0.0, 1.0, 0.5, 0.0]), [0.25, 0.0, 1.0, 0.5, 0.0]),
    ],
    ids=[
        'int-scalar-tensor',
        'python-int',
        'one-element',
        'index-list',
        'python-list',
        'empty',
        'multi-hot-float64',
        'soft',
    ],
)
def test_to_multi_hot(label, expected):
    out = to_multi_hot(label, 5)
    assert out.dtype == torch.float32
    assert out.shape == (5,)
    assert out.tolist() == expected


def test_to_multi_hot_bool_mask():
    mask = torch.tensor([True, False, False, True, False])
    assert to_multi_hot(mask, 5).tolist() == [1.0, 0.0, 0.0, 1.0, 0.0]
    with pytest.raises(
        ValueError,
        match=r'float label of shape \(2,\) is not a multi-hot vector '
        r'of length num_classes=5',
    ):
        to_multi_hot(torch.tensor([True, False]), 5)


def test_to_multi_hot_out_of_range():
    with pytest.raises(
        ValueError, match=r'label \[1, 5\] is outside \[0, 5\)'
    ):
        to_multi_hot(torch.tensor([1, 5]), 5)
    with pytest.raises(ValueError, match=r'label \[-1\] is outside \[0, 5\)'):
        to_multi_hot(torch.tensor(-1), 5)


def test_to_multi_hot_wrong_float_length():
    with pytest.raises(
        ValueError,
        match=r'float label of shape \(3,\) is not a multi-hot vector '
        r'of length num_classes=5',
    ):
        to_multi_hot(torch.tensor([0.0, 1.0, 0.0]), 5)


def test_reads_evaluator_dicts():
    """mmengine's Evaluator passes ``data_sample.to_dict()`` to metrics; on
    MMAction2 1.1 a LabelData field then is ``{'item': tensor}``."""
    ds = ActionDataSample()
    set_gt_label(ds, torch.tensor([0.0, 1.0]))
    set_pred_score(ds, torch.tensor([0.25, 0.75]))
    as_dict = ds.to_dict()
    assert torch.equal(get_gt_label(as_dict), torch.tensor([0.0, 1.0]))
    assert torch.equal(get_pred_score(as_dict), torch.tensor([0.25, 0.75]))
