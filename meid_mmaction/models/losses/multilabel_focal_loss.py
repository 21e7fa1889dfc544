"""Sigmoid focal loss on multi-hot targets."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

_REDUCTIONS = ('none', 'mean', 'sum')


def multilabel_focal_loss(logits: torch.Tensor,
                          targets: torch.Tensor,
                          gamma: float = 1.0,
                          alpha: float = 1.0,
                          reduction: str = 'mean') -> torch.Tensor:
    """``alpha * (1 - p_t) ** gamma * BCE(logits, targets)``.

    Args:
        logits (Tensor): ``[B, C]`` raw scores.
        targets (Tensor): ``[B, C]`` multi-hot (or soft) targets in [0, 1].
        gamma (float): Focusing exponent; 0 gives plain BCE. Defaults to 1.
        alpha (float): Global weight. Defaults to 1.
        reduction (str): ``'mean'`` over all elements, ``'sum'`` or
            ``'none'`` (returns ``[B, C]``).

    Returns:
        Tensor: the loss.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f'reduction={reduction!r} is not one of '
                         f'{_REDUCTIONS}')
    if logits.shape != targets.shape:
        raise ValueError(f'logits {tuple(logits.shape)} and targets '
                         f'{tuple(targets.shape)} must have the same shape')
    targets = targets.to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(
        logits, targets, reduction='none')
    if gamma != 0:
        p = torch.sigmoid(logits)
        # p_t = p for positives, 1 - p for negatives (soft targets mix both).
        one_minus_pt = p * (1 - targets) + (1 - p) * targets
        loss = alpha * one_minus_pt.pow(gamma) * bce
    else:
        loss = alpha * bce
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


@MODELS.register_module()
class MultiLabelFocalLoss(nn.Module):
    """Module wrapper of :func:`multilabel_focal_loss` with ``loss_weight``.

    Defaults follow the VideoLT FrameStack setting (``alpha=1, gamma=1``).
    """

    def __init__(self,
                 gamma: float = 1.0,
                 alpha: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction={reduction!r} is not one of '
                             f'{_REDUCTIONS}')
        if gamma < 0:
            raise ValueError(f'gamma must be >= 0, got {gamma}')
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """``logits`` and ``targets`` are ``[B, C]``."""
        return self.loss_weight * multilabel_focal_loss(
            logits, targets, self.gamma, self.alpha, self.reduction)
