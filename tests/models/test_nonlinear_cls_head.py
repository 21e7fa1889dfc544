"""NonlinearClsHead: forward vs. a manual computation, loss and predict."""

import re

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

from meid_mmaction.models.heads import NonlinearClsHead
from meid_mmaction.models.losses import multilabel_focal_loss
from meid_mmaction.utils import get_pred_score, set_gt_label

C, D, H = 5, 6, 4


@pytest.fixture
def head():
    init_default_scope('mmaction')
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type='NonlinearClsHead',
            num_classes=C,
            in_channels=D,
            hidden_channels=H,
            dropout_ratio=0.5,
        )
    )
    head.init_weights()
    # Larger weights than the std=0.01 init, so the values are not ~0.
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()
    return head.eval()


def _manual(head, x):
    """``[B, N, D]`` -> per-frame fc1, relu, fc2, mean over frames."""
    hidden = F.relu(x @ head.fc1.weight.T + head.fc1.bias)
    return (hidden @ head.fc2.weight.T + head.fc2.bias).mean(dim=1)


def _samples(labels):
    return [set_gt_label(ActionDataSample(), label) for label in labels]


def test_layers_and_init():
    init_default_scope('mmaction')
    head = MODELS.build(
        dict(type='NonlinearClsHead', num_classes=C, in_channels=D)
    )
    assert isinstance(head, NonlinearClsHead)
    assert head.fc1.weight.shape == (D, D)  # hidden defaults to D
    assert head.fc2.weight.shape == (C, D)
    assert head.dropout.p == 0.5
    head.init_weights()
    assert head.fc1.weight.std().item() < 0.05
    assert (head.fc1.bias == 0).all()


def test_forward_matches_manual(head):
    x = torch.randn(3, 7, D)
    out = head(x)
    assert out.shape == (3, C)
    torch.testing.assert_close(out, _manual(head, x))


def test_forward_vector_input(head):
    x = torch.randn(3, D)
    out = head(x)
    assert out.shape == (3, C)
    torch.testing.assert_close(out, _manual(head, x[:, None]))


def test_dropout_active_in_train_mode(head):
    x = torch.randn(2, 7, D)
    head.train()
    torch.manual_seed(1)
    a = head(x)
    assert not torch.allclose(a, _manual(head, x))


@pytest.mark.parametrize('shape', [(2, 7, D + 1), (2, 1, 7, D), (D,)])
def test_wrong_input(head, shape):
    with pytest.raises(
        ValueError,
        match=re.escape(
            f'NonlinearClsHead expects [B, N, {D}] features, got {shape}'
        ),
    ):
        head(torch.randn(*shape))


def test_loss_multi_hot(head):
    x = torch.randn(3, 7, D)
    targets = torch.tensor(
        [
            [1.0, 0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 0.0, 0.0],
        ]
    )
    losses = head.loss(x, _samples(targets))
    assert set(losses) == {'loss_cls'}
    expected = multilabel_focal_loss(_manual(head, x), targets, gamma=1.0)
    torch.testing.assert_close(losses['loss_cls'], expected)


def test_loss_single_label_int_is_one_hot(head):
    x = torch.randn(2, 4, D)
    samples = _samples([torch.tensor(3), torch.tensor([0])])
    one_hot = torch.tensor(
        [[0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]]
    )
    expected = multilabel_focal_loss(_manual(head, x), one_hot, gamma=1.0)
    torch.testing.assert_close(head.loss(x, samples)['loss_cls'], expected)


def test_loss_rejects_multiple_views(head):
    logits = torch.randn(4, C)
    with pytest.raises(
        ValueError,
        match=re.escape(
            'logits (4, 5) do not match targets (2, 5); '
            'training expects one view per video'
        ),
    ):
        head.loss_by_feat(logits, _samples([1, 2]))


def test_predict_by_feat_averages_views(head):
    logits = torch.randn(2 * 3, C)  # B = 2 videos, V = 3 views
    samples = head.predict_by_feat(logits, _samples([0, 1]))
    probs = torch.sigmoid(logits)
    for b, sample in enumerate(samples):
        expected = (probs[3 * b] + probs[3 * b + 1] + probs[3 * b + 2]) / 3
        torch.testing.assert_close(get_pred_score(sample), expected)


def test_predict_one_view(head):
    x = torch.randn(2, 7, D)
    samples = head.predict(x, _samples([0, 4]))
    logits = _manual(head, x)
    for b, sample in enumerate(samples):
        score = get_pred_score(sample)
        assert score.shape == (C,)
        assert not score.requires_grad
        torch.testing.assert_close(score, torch.sigmoid(logits[b]))


def test_predict_uneven_rows(head):
    with pytest.raises(
        ValueError,
        match=re.escape('5 score rows cannot be split evenly into 2 videos'),
    ):
        head.predict_by_feat(torch.randn(5, C), _samples([0, 1]))


def test_average_clips_score(head):
    head.average_clips = 'score'
    logits = torch.randn(4, C)
    samples = head.predict_by_feat(logits, _samples([0, 1]))
    torch.testing.assert_close(
        get_pred_score(samples[1]), (logits[2] + logits[3]) / 2
    )
