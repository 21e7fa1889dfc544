"""BaseHead options of the multi-label heads: supported or rejected."""

import re

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

from meid_mmaction.models.losses import multilabel_focal_loss
from meid_mmaction.utils import set_gt_label

C, D = 4, 3


def _head(**kwargs):
    init_default_scope('mmaction')
    return MODELS.build(
        dict(type='NonlinearClsHead', num_classes=C, in_channels=D, **kwargs)
    )


def _samples(labels):
    return [set_gt_label(ActionDataSample(), label) for label in labels]


LOGITS = torch.tensor(
    [[2.0, 1.0, 0.0, -1.0], [0.5, 3.0, 0.5, 0.0], [0.0, 0.0, 1.0, 2.0]]
)
LABELS = [[1], [1, 2], [0]]
MULTI_HOT = torch.tensor(
    [[0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
)


def test_label_smoothing_uses_mmaction_formula():
    head = _head(label_smooth_eps=0.2)
    losses = head.loss_by_feat(LOGITS, _samples(LABELS))
    smoothed = 0.8 * MULTI_HOT + 0.2 / C  # BaseHead's (1 - eps) y + eps / C
    expected = multilabel_focal_loss(LOGITS, smoothed)
    torch.testing.assert_close(losses['loss_cls'], expected)
    plain = _head().loss_by_feat(LOGITS, _samples(LABELS))['loss_cls']
    assert not torch.allclose(plain, expected)


def test_topk_hit_rates_are_logged():
    head = _head(topk=(1, 2))
    losses = head.loss_by_feat(LOGITS, _samples(LABELS))
    # top-1: classes 0, 1, 3 -> hits: no, yes, no; top-2: {0,1}, {1, 0|2
    # tie -> 0}, {3, 2} -> yes, yes, no
    assert losses['top1_hit'].item() == pytest.approx(1 / 3)
    assert losses['top2_hit'].item() == pytest.approx(2 / 3)
    assert set(_head().loss_by_feat(LOGITS, _samples(LABELS))) == {'loss_cls'}


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (
            dict(multi_class=False),
            'multi-label head: multi_class must be True, got False',
        ),
        (
            dict(average_clips=None),
            'average_clips=None is not supported; '
            "expected one of ('prob', 'score')",
        ),
        (
            dict(label_smooth_eps=1.0),
            'label_smooth_eps must be a number in [0, 1), got 1.0',
        ),
        (
            dict(topk=(1, 5)),
            'topk must be ints in [1, num_classes=4], got (1, 5)',
        ),
        (dict(topk=0), 'topk must be ints in [1, num_classes=4], got (0,)'),
    ],
)
def test_unsupported_options_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _head(**kwargs)


def test_unknown_option_is_rejected():
    with pytest.raises(TypeError, match='unexpected keyword.*topk_acc'):
        _head(topk_acc=(1,))
