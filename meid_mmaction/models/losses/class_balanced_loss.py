"""Class-balanced loss (Cui et al., 2019) in VideoLT's sigmoid form."""

from typing import Optional, Sequence

import torch
from mmaction.registry import MODELS

from .multilabel_focal_loss import sigmoid_focal_elements
from .utils import (
    ClassCountsLoss,
    check_reduction,
    class_balanced_weights,
    reduce_loss,
)

#: Where the class weights enter: per class column (VideoLT) or per sample
#: (Cui et al.).
WEIGHTINGS = ('class', 'sample')


def class_balanced_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    class_weights: torch.Tensor,
    gamma: float = 0.0,
    alpha: float = 1.0,
    reduction: str = 'batch_sum',
    loss_mask: Optional[torch.Tensor] = None,
    weighting: str = 'class',
) -> torch.Tensor:
    """Class-balanced sigmoid BCE (``gamma = 0``) or focal loss.

    ``weighting='class'`` (VideoLT's ``CBLoss``: the weight of BCE's
    ``weight=`` argument): ``loss_bc = w_c * l_bc`` with ``l_bc = alpha *
    (1 - p_t) ** gamma * BCE(x_bc, y_bc)``, every column weighted by its
    class, negatives included. ``weighting='sample'`` (Cui et al.'s
    sigmoid form: the one-hot label times the class weights, summed over
    classes): ``loss_bc = (sum_k y_bk w_k) * l_bc``, one weight per video for
    all its columns (for a multi-hot video, the sum of its positive
    classes' weights; 0 for a video without a positive).

    Args:
        logits (torch.Tensor): ``[B, C]``.
        targets (torch.Tensor): ``[B, C]`` multi-hot (or soft) targets.
        class_weights (torch.Tensor): ``[C]`` weights ``w_c``
            (:func:`~meid_mmaction.models.losses.utils.
            class_balanced_weights`).
        gamma (float): Focal exponent; 0 (default) is BCE.
        alpha (float): Global weight of the focal form. Defaults to 1.
        reduction (str): ``'none'``, ``'mean'``, ``'sum'`` or
            ``'batch_sum'`` (default, VideoLT).
        loss_mask (torch.Tensor, optional): ``[B, C]`` per-element weight.
        weighting (str): ``'class'`` (default, VideoLT) or ``'sample'``
            (Cui et al.).

    Returns:
        torch.Tensor: ``[B, C]`` or a scalar.
    """
    check_reduction(reduction)
    if weighting not in WEIGHTINGS:
        raise ValueError(f'weighting={weighting!r} is not one of {WEIGHTINGS}')
    loss = sigmoid_focal_elements(logits, targets, gamma, alpha)
    if class_weights.shape != logits.shape[1:]:
        raise ValueError(
            f'class_weights {tuple(class_weights.shape)} must '
            f'be [C] for logits {tuple(logits.shape)}'
        )
    weights = class_weights.to(loss)
    if weighting == 'sample':
        weights = (targets.to(loss) * weights).sum(dim=1, keepdim=True)
    loss = loss * weights
    return reduce_loss(loss, reduction, loss_mask)


@MODELS.register_module()
class ClassBalancedLoss(ClassCountsLoss):
    """Class-balanced sigmoid loss: ``w_c = (1 - beta) / (1 - beta ** n_c)``
    normalised to ``sum_c w_c = C``, times the per-element BCE (VideoLT) or
    focal loss (``base='focal'``, Cui et al.'s best sigmoid variant).

    The weights enter per class column by default (``weighting='class'``,
    VideoLT's ``CBLoss``, the published baseline row); Cui et al. weight each
    sample by its class's weight (``weighting='sample'``), see
    :func:`class_balanced_loss`.

    Args:
        class_counts (sequence of int, optional): ``[C]`` training videos
            per class; None (default): the training dataset's, handed over
            by ``LongTailLossHook``.
        beta (float): Effective-number parameter. Defaults to 0.9999.
        base (str): ``'bce'`` (default, VideoLT) or ``'focal'``.
        gamma (float): Focal exponent for ``base='focal'``. Defaults to 1.
        alpha (float): Focal global weight. Defaults to 1.
        reduction (str): Defaults to ``'mean'`` (this project's focal
            loss); ``'batch_sum'`` is VideoLT's.
        loss_weight (float): Multiplier. Defaults to 1.
        weighting (str): ``'class'`` (default, VideoLT) or ``'sample'``
            (Cui et al.).
    """

    _BASES = ('bce', 'focal')

    #: The loss contract of :mod:`meid_mmaction.datasets.label_mask`:
    #: ``forward`` takes ``loss_mask=`` ``[B, C]``.
    accepts_loss_mask = True

    def __init__(
        self,
        class_counts: Optional[Sequence[int]] = None,
        beta: float = 0.9999,
        base: str = 'bce',
        gamma: float = 1.0,
        alpha: float = 1.0,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        weighting: str = 'class',
    ) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(
                f'weighting={weighting!r} is not one of {WEIGHTINGS}'
            )
        if base not in self._BASES:
            raise ValueError(f'base={base!r} is not one of {self._BASES}')
        if not 0.0 <= beta < 1.0:
            raise ValueError(f'beta must be in [0, 1), got {beta!r}')
        if gamma < 0:
            raise ValueError(f'gamma must be >= 0, got {gamma}')
        self.beta = float(beta)
        super().__init__(class_counts)
        if '_weights' not in self._buffers:  # counts not known yet
            self.register_buffer(
                '_weights',
                torch.zeros(0, dtype=torch.float64),
                persistent=False,
            )
        self.base = base
        self.gamma = float(gamma) if base == 'focal' else 0.0
        self.alpha = float(alpha)
        self.reduction = check_reduction(reduction)
        self.loss_weight = float(loss_weight)
        self.weighting = weighting

    def on_class_counts(self) -> None:
        """Derive the weights ``w_c`` once per set of counts (a buffer: it
        follows the module's device)."""
        self.register_buffer(
            '_weights',
            class_balanced_weights(self.class_counts, self.beta),
            persistent=False,
        )

    @property
    def class_weights(self) -> torch.Tensor:
        """``[C]`` float weights ``w_c`` (sum ``C``)."""
        return self._weights

    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        loss_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Loss of logits / targets ``[B, C]`` (optional mask ``[B, C]``)."""
        self.counts_for(logits)  # known and matching the logits
        return self.loss_weight * class_balanced_loss(
            logits,
            targets,
            self._weights,
            self.gamma,
            self.alpha,
            self.reduction,
            loss_mask,
            self.weighting,
        )
