"""Sigmoid focal loss on multi-hot targets."""

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

from .utils import check_reduction, reduce_loss


def sigmoid_focal_elements(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma: float = 1.0,
    alpha: float = 1.0,
) -> torch.Tensor:
    """Per-element ``alpha * (1 - p_t) ** gamma * BCE``, ``[B, C]``.

    ``p_t = p`` for positives and ``1 - p`` for negatives (soft targets mix
    both); ``gamma = 0`` gives ``alpha * BCE``.
    """
    if logits.shape != targets.shape:
        raise ValueError(
            f'logits {tuple(logits.shape)} and targets '
            f'{tuple(targets.shape)} must have the same shape'
        )
    targets = targets.to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    if gamma == 0:
        return alpha * bce
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

    Returns:
        Tensor: the loss.
    """
    check_reduction(reduction)
    loss = sigmoid_focal_elements(logits, targets, gamma, alpha)
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
    """

    def __init__(
        self,
        gamma: float = 1.0,
        alpha: float = 1.0,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
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
            logits, targets, self.gamma, self.alpha, self.reduction, loss_mask
        )
