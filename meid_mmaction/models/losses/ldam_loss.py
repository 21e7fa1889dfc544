"""LDAM loss with deferred re-weighting (Cao et al., 2019), multi-label."""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS

from .utils import (
    ClassCountsLoss,
    check_reduction,
    class_balanced_weights,
    reduce_loss,
)

_MARGIN_MODES = ('video_sum', 'per_class')


def ldam_margins(
    class_counts: torch.Tensor, max_margin: float = 0.5
) -> torch.Tensor:
    """``m_c ∝ n_c ** (-1/4)``, scaled so that ``max_c m_c = max_margin``.

    Classes with ``n_c = 0`` are treated as ``n_c = 1``.

    Args:
        class_counts (torch.Tensor): ``[C]`` training videos per class.
        max_margin (float): The largest margin. Defaults to 0.5.

    Returns:
        torch.Tensor: ``[C]`` float64 margins.
    """
    inv = class_counts.to(torch.float64).clamp(min=1).pow(-0.25)
    return inv * (max_margin / inv.max())


def ldam_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    margins: torch.Tensor,
    scale: float = 30.0,
    margin_mode: str = 'video_sum',
    class_weights: Optional[torch.Tensor] = None,
    reduction: str = 'batch_sum',
    loss_mask: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Multi-label LDAM: BCE on ``scale * (x - margin * y)``.

    ``margin_mode='video_sum'`` (VideoLT): each video gets one margin
    ``m_i = sum_c y_ic m_c`` subtracted from its logits where ``y_ic = 1``.
    ``'per_class'`` (the image-domain form, one margin per class): logit
    ``c`` gets ``m_c`` where ``y_ic = 1``. Every other logit (negatives and,
    for soft or mixed targets, every ``0 < y_ic < 1``) keeps its value, as
    VideoLT's ``torch.where(targets.type(torch.uint8), ...)``.

    Args:
        logits (torch.Tensor): ``[B, C]``.
        targets (torch.Tensor): ``[B, C]`` multi-hot (or soft) targets in
            ``[0, 1]``; the margin applies where ``y = 1``.
        margins (torch.Tensor): ``[C]`` per-class margins
            (:func:`ldam_margins`).
        scale (float): ``s``. Defaults to 30.
        margin_mode (str): ``'video_sum'`` (default) or ``'per_class'``.
        class_weights (torch.Tensor, optional): ``[C]`` per-class weights of
            the BCE (DRW); None is all ones.
        reduction (str): ``'none'``, ``'mean'``, ``'sum'`` or
            ``'batch_sum'`` (default).
        loss_mask (torch.Tensor, optional): ``[B, C]`` per-element weight.

    Returns:
        torch.Tensor: ``[B, C]`` or a scalar.
    """
    check_reduction(reduction)
    if margin_mode not in _MARGIN_MODES:
        raise ValueError(
            f'margin_mode={margin_mode!r} is not one of {_MARGIN_MODES}'
        )
    if logits.shape != targets.shape or margins.shape != logits.shape[1:]:
        raise ValueError(
            f'logits {tuple(logits.shape)}, targets {tuple(targets.shape)} '
            f'and margins {tuple(margins.shape)} must be [B, C], [B, C], '
            '[C]'
        )
    targets = targets.to(logits.dtype)
    margins = margins.to(logits)
    hard = (targets >= 1).to(logits.dtype)  # margin only where y == 1
    if margin_mode == 'video_sum':
        per_video = (targets * margins).sum(dim=1, keepdim=True)  # [B, 1]
        shift = per_video * hard
    else:
        shift = margins * hard
    loss = F.binary_cross_entropy_with_logits(
        scale * (logits - shift), targets, reduction='none'
    )
    if class_weights is not None:
        loss = loss * class_weights.to(loss)
    return reduce_loss(loss, reduction, loss_mask)


@MODELS.register_module()
class LDAMLoss(ClassCountsLoss):
    """LDAM-DRW, multi-label (VideoLT): margins ``∝ n_c ** (-1/4)`` (max
    ``max_margin``), BCE on ``scale * (x - m_i y)``, and deferred
    re-weighting: uniform class weights before epoch ``drw_epoch``, the
    class-balanced weights ``(1 - beta) / (1 - beta ** n_c)`` (sum ``C``)
    from it on.

    The epoch comes from ``LongTailLossHook`` (:meth:`set_train_epoch`
    before every training epoch, with the 0-based ``runner.epoch``), so the
    switch needs no call from the user and a resumed run switches at the
    same epoch.

    Args:
        class_counts (sequence of int, optional): ``[C]``; None (default):
            the training dataset's, handed over by ``LongTailLossHook``.
        max_margin (float): Largest margin. Defaults to 0.5.
        scale (float): ``s``. Defaults to 30.
        margin_mode (str): ``'video_sum'`` (VideoLT, default) or
            ``'per_class'``.
        drw_epoch (int, optional): First (0-based) epoch with re-weighting;
            None disables DRW (plain LDAM). Defaults to 50 (of 100).
        drw_beta (float): ``beta`` of the DRW weights. Defaults to 0.9999.
        reduction (str): Defaults to ``'mean'``; ``'batch_sum'`` is
            VideoLT's.
        loss_weight (float): Multiplier. Defaults to 1.
    """

    #: The loss contract of :mod:`meid_mmaction.datasets.label_mask`:
    #: ``forward`` takes ``loss_mask=`` ``[B, C]``.
    accepts_loss_mask = True

    def __init__(
        self,
        class_counts: Optional[Sequence[int]] = None,
        max_margin: float = 0.5,
        scale: float = 30.0,
        margin_mode: str = 'video_sum',
        drw_epoch: Optional[int] = 50,
        drw_beta: float = 0.9999,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        if margin_mode not in _MARGIN_MODES:
            raise ValueError(
                f'margin_mode={margin_mode!r} is not one of {_MARGIN_MODES}'
            )
        if not max_margin > 0 or not scale > 0:
            raise ValueError(
                'max_margin and scale must be > 0, got '
                f'{max_margin!r} and {scale!r}'
            )
        if drw_epoch is not None and (
            not isinstance(drw_epoch, int) or drw_epoch < 0
        ):
            raise ValueError(
                f'drw_epoch must be an int >= 0 or None, got {drw_epoch!r}'
            )
        if not 0.0 <= drw_beta < 1.0:
            raise ValueError(f'drw_beta must be in [0, 1), got {drw_beta!r}')
        self.max_margin = float(max_margin)
        self.drw_beta = float(drw_beta)
        super().__init__(class_counts)
        if '_margins' not in self._buffers:  # counts not known yet
            self.on_class_counts()
        self.scale = float(scale)
        self.margin_mode = margin_mode
        self.drw_epoch = drw_epoch
        self.reduction = check_reduction(reduction)
        self.loss_weight = float(loss_weight)
        self.epoch = 0

    def set_train_epoch(self, epoch: int) -> None:
        """The (0-based) training epoch about to run (DRW switch)."""
        self.epoch = int(epoch)

    @property
    def drw_active(self) -> bool:
        """Whether the class-balanced DRW weights are in use."""
        return self.drw_epoch is not None and self.epoch >= self.drw_epoch

    def on_class_counts(self) -> None:
        """Derive the margins ``m_c`` and the DRW weights once per set of
        counts (buffers: they follow the module's device)."""
        known = self.class_counts.numel() > 0
        empty = torch.zeros(0, dtype=torch.float64)
        for name, value in (
            (
                '_margins',
                ldam_margins(self.class_counts, self.max_margin)
                if known
                else empty,
            ),
            (
                '_drw_weights',
                class_balanced_weights(self.class_counts, self.drw_beta)
                if known
                else empty,
            ),
        ):
            self.register_buffer(name, value, persistent=False)

    def class_weights(self) -> Optional[torch.Tensor]:
        """``[C]`` DRW weights of the current epoch, or None (uniform)."""
        if not self.drw_active:
            return None
        return self._drw_weights

    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        loss_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Loss of logits / targets ``[B, C]`` (optional mask ``[B, C]``)."""
        self.counts_for(logits)  # known and matching the logits
        return self.loss_weight * ldam_loss(
            logits,
            targets,
            self._margins,
            self.scale,
            self.margin_mode,
            self.class_weights(),
            self.reduction,
            loss_mask,
        )
