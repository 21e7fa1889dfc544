"""Sigmoid focal loss on multi-hot targets vs. hand / numpy computations."""

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

from meid_mmaction.models.losses import (
    MultiLabelFocalLoss,
    multilabel_focal_loss,
)


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 6, generator=gen, dtype=torch.float64) * 3
    targets = (torch.rand(4, 6, generator=gen) > 0.6).double()
    return logits, targets


def _numpy_focal(logits, targets, gamma, alpha):
    x = logits.numpy()
    t = targets.numpy()
    p = 1.0 / (1.0 + np.exp(-x))
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    p_t = p * t + (1 - p) * (1 - t)
    return alpha * (1 - p_t) ** gamma * bce


def test_gamma_zero_is_bce(batch):
    logits, targets = batch
    expected = F.binary_cross_entropy_with_logits(logits, targets)
    out = multilabel_focal_loss(logits, targets, gamma=0.0)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize('gamma', [1.0, 2.0, 0.5])
@pytest.mark.parametrize('alpha', [1.0, 0.25])
def test_against_numpy(batch, gamma, alpha):
    logits, targets = batch
    expected = _numpy_focal(logits, targets, gamma, alpha)
    none = multilabel_focal_loss(
        logits, targets, gamma=gamma, alpha=alpha, reduction='none'
    )
    assert none.shape == (4, 6)
    np.testing.assert_allclose(none.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(
        multilabel_focal_loss(logits, targets, gamma, alpha, 'mean').item(),
        expected.mean(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        multilabel_focal_loss(logits, targets, gamma, alpha, 'sum').item(),
        expected.sum(),
        rtol=1e-10,
    )


def test_hand_computed():
    # logit 0 -> p = 0.5: BCE = ln 2, (1 - p_t) = 0.5 for either target.
    # logit ln 3 -> p = 0.75; positive: (1 - p_t) = 0.25, BCE = -ln 0.75;
    # negative: (1 - p_t) = 0.75, BCE = -ln 0.25.
    logits = torch.tensor(
        [[0.0, math.log(3)], [0.0, math.log(3)]], dtype=torch.float64
    )
    targets = torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    out = multilabel_focal_loss(
        logits, targets, gamma=2.0, alpha=0.5, reduction='none'
    )
    expected = 0.5 * torch.tensor(
        [
            [0.25 * math.log(2), 0.0625 * -math.log(0.75)],
            [0.25 * math.log(2), 0.5625 * -math.log(0.25)],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)


def test_soft_targets(batch):
    logits, _ = batch
    soft = torch.full_like(logits, 0.3)
    expected = _numpy_focal(logits, soft, 1.0, 1.0)
    out = multilabel_focal_loss(logits, soft, reduction='none')
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)


def test_int_targets_are_cast(batch):
    logits, targets = batch
    out = multilabel_focal_loss(logits, targets.long())
    torch.testing.assert_close(out, multilabel_focal_loss(logits, targets))


def test_gradients_flow(batch):
    logits, targets = batch
    logits = logits.clone().requires_grad_()
    multilabel_focal_loss(logits, targets, gamma=2.0).backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_module_loss_weight_and_defaults(batch):
    logits, targets = batch
    loss = MultiLabelFocalLoss(gamma=2.0, alpha=0.5, loss_weight=3.0)
    expected = 3.0 * _numpy_focal(logits, targets, 2.0, 0.5).mean()
    np.testing.assert_allclose(
        loss(logits, targets).item(), expected, rtol=1e-10
    )
    default = MultiLabelFocalLoss()
    assert (
        default.gamma,
        default.alpha,
        default.reduction,
        default.loss_weight,
    ) == (1.0, 1.0, 'mean', 1.0)


def test_built_from_registry(batch):
    init_default_scope('mmaction')
    loss = MODELS.build(
        dict(type='MultiLabelFocalLoss', gamma=0.0, reduction='sum')
    )
    assert isinstance(loss, MultiLabelFocalLoss)
    logits, targets = batch
    expected = F.binary_cross_entropy_with_logits(
        logits, targets, reduction='sum'
    )
    torch.testing.assert_close(loss(logits, targets), expected)


def test_bad_reduction():
    message = re.escape(
        "reduction='avg' is not one of ('none', 'mean', 'sum', 'batch_sum')"
    )
    with pytest.raises(ValueError, match=message):
        MultiLabelFocalLoss(reduction='avg')
    with pytest.raises(ValueError, match=message):
        multilabel_focal_loss(
            torch.zeros(1, 2), torch.zeros(1, 2), reduction='avg'
        )


def test_bad_gamma():
    with pytest.raises(ValueError, match=r'gamma must be >= 0, got -1\.0'):
        MultiLabelFocalLoss(gamma=-1.0)


def test_shape_mismatch():
    with pytest.raises(
        ValueError,
        match=re.escape(
            'logits (2, 3) and targets (2, 4) must have the same shape'
        ),
    ):
        multilabel_focal_loss(torch.zeros(2, 3), torch.zeros(2, 4))
