"""Sigmoid focal loss on multi-hot targets."""

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

from .utils import check_reduction, reduce_loss

#: How ``1 - p_t`` is computed for soft targets (equal for 0 / 1 targets).
PT_MODES = ('linear', 'exp_bce')


def check_pt_mode(pt_mode: str) -> str:
    """Return ``pt_mode`` or raise a ValueError naming the allowed set."""
    if pt_mode not in PT_MODES:
        raise ValueError(f'pt_mode={pt_mode!r} is not one of {PT_MODES}')
    return pt_mode


def sigmoid_focal_elements(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma: float = 1.0,
    alpha: float = 1.0,
    pt_mode: str = 'linear',
) -> torch.Tensor:
    """Per-element ``alpha * (1 - p_t) ** gamma * BCE``, ``[B, C]``.

    ``pt_mode='linear'``: ``1 - p_t = p (1 - y) + (1 - p) y`` (``p_t = p``
    for positives, ``1 - p`` for negatives, interpolated for soft targets).
    ``pt_mode='exp_bce'`` (VideoLT's ``ops/losses.py``): ``p_t =
    exp(-BCE)``, i.e. ``p^y (1 - p)^(1 - y)``. Both agree on 0 / 1 targets;
    they differ on soft targets (FrameStack, mixup). ``gamma = 0`` gives
    ``alpha * BCE``.
    """
    check_pt_mode(pt_mode)
    if logits.shape != targets.shape:
        raise ValueError(
            f'logits {tuple(logits.shape)} and targets '
            f'{tuple(targets.shape)} must have the same shape'
        )
    targets = targets.to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    if gamma == 0:
        return alpha * bce
    if pt_mode == 'exp_bce':
        one_minus_pt = -torch.expm1(-bce)
    else:
        p = torch.sigmoid(logits)
        one_minus_pt = p * (1 - targets) + (1 - p) * targets
    return alpha * one_minus_pt.pow(gamma) * bce


def multilabel_focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma: float = 1.0,
    alpha: float = 1.0,
    reduction: str = 'mean',
    loss_mask: Optional[torch.Tensor] = None,
    pt_mode: str = 'linear',
) -> torch.Tensor:
    """``alpha * (1 - p_t) ** gamma * BCE(logits, targets)``.

    Args:
        logits (Tensor): ``[B, C]`` raw scores.
        targets (Tensor): ``[B, C]`` multi-hot (or soft) targets in [0, 1].
        gamma (float): Focusing exponent; 0 gives plain BCE. Defaults to 1.
        alpha (float): Global weight. Defaults to 1.
        reduction (str): ``'mean'`` over all elements, ``'sum'``,
            ``'batch_sum'`` (sum over classes, mean over the batch) or
            ``'none'`` (returns ``[B, C]``).
        loss_mask (Tensor, optional): Per-element weight ``[B, C]``.
        pt_mode (str): ``'linear'`` or ``'exp_bce'`` (VideoLT), see
            :func:`sigmoid_focal_elements`. Defaults to ``'linear'``.

    Returns:
        Tensor: the loss.
    """
    check_reduction(reduction)
    loss = sigmoid_focal_elements(logits, targets, gamma, alpha, pt_mode)
    return reduce_loss(loss, reduction, loss_mask)


@MODELS.register_module()
class MultiLabelFocalLoss(nn.Module):
    """Module wrapper of :func:`multilabel_focal_loss` with ``loss_weight``.

    Defaults follow the VideoLT FrameStack setting (``alpha=1, gamma=1``).

    Args:
        gamma (float): Focusing exponent (>= 0; 0 is BCE). Defaults to 1.
        alpha (float): Global weight. Defaults to 1.
        reduction (str): See :func:`multilabel_focal_loss`. Defaults to
            ``'mean'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.
        pt_mode (str): How ``1 - p_t`` is computed on soft targets:
            ``'linear'`` (default) or ``'exp_bce'`` (``1 - exp(-BCE)``,
            VideoLT's ``FocalLoss``; the FrameStack rows use it).
    """

    #: The loss contract of :mod:`meid_mmaction.datasets.label_mask`:
    #: ``forward`` takes ``loss_mask=`` ``[B, C]``.
    accepts_loss_mask = True

    def __init__(
        self,
        gamma: float = 1.0,
        alpha: float = 1.0,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        pt_mode: str = 'linear',
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        self.pt_mode = check_pt_mode(pt_mode)
        if gamma < 0:
            raise ValueError(f'gamma must be >= 0, got {gamma}')
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        loss_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``logits``, ``targets`` and ``loss_mask`` are ``[B, C]``."""
        return self.loss_weight * multilabel_focal_loss(
            logits,
            targets,
            self.gamma,
            self.alpha,
            self.reduction,
            loss_mask,
            self.pt_mode,
        )
