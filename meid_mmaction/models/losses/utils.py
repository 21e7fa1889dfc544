"""Shared pieces of the multi-label losses: reduction, loss mask, counts.

* :func:`reduce_loss`: the reductions every loss of the package offers,
  applied after an optional per-element weight (``loss_mask``, applied by
  :func:`~meid_mmaction.datasets.label_mask.apply_loss_mask`; the mask
  itself, VideoLT's label mask of resampling, and the contract by which a
  loss accepts it live in :mod:`meid_mmaction.datasets.label_mask`).
* :class:`ClassCountsLoss`: base module of the losses that need the
  training split's class counts ``n_c``, either from the constructor or
  handed over at the start of training (``LongTailLossHook``).
"""

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from ...datasets.label_mask import apply_loss_mask

REDUCTIONS = ('none', 'mean', 'sum', 'batch_sum')


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` or raise a ValueError naming the allowed set."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction={reduction!r} is not one of {REDUCTIONS}')
    return reduction


def reduce_loss(
    loss: torch.Tensor,
    reduction: str = 'mean',
    loss_mask: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Weight a per-element loss and reduce it.

    The mask multiplies the elements first; the denominators do not depend
    on it (as in VideoLT, where a masked element counts as a zero loss).

    Args:
        loss (torch.Tensor): Per-element loss ``[B, C]``.
        reduction (str): ``'none'`` (``[B, C]``), ``'mean'`` (over all
            ``B * C`` elements), ``'sum'`` (all elements) or ``'batch_sum'``
            (sum over classes, mean over the batch, as VideoLT).
        loss_mask (torch.Tensor, optional): Per-element weight ``[B, C]``.

    Returns:
        torch.Tensor: ``[B, C]`` for ``'none'``, otherwise a scalar.
    """
    check_reduction(reduction)
    loss = apply_loss_mask(loss, loss_mask)
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'batch_sum':
        if loss.dim() != 2:
            raise ValueError(
                "reduction='batch_sum' needs a [B, C] loss, got "
                f'shape {tuple(loss.shape)}'
            )
        return loss.sum(dim=1).mean()
    return loss


def class_balanced_weights(
    class_counts: torch.Tensor, beta: float = 0.9999
) -> torch.Tensor:
    """Class-balanced weights of Cui et al. (2019), normalised to sum ``C``.

    ``w_c = (1 - beta) / (1 - beta ** n_c)`` (the inverse effective number
    of samples), then scaled so that ``sum_c w_c = C``. A class with
    ``n_c = 0`` gets the weight of ``n_c = 1`` (it has no positive in
    training anyway).

    Args:
        class_counts (torch.Tensor): ``[C]`` training videos per class.
        beta (float): In ``[0, 1)``. Defaults to 0.9999 (VideoLT).

    Returns:
        torch.Tensor: ``[C]`` float64 weights.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f'beta must be in [0, 1), got {beta!r}')
    counts = class_counts.to(torch.float64).clamp(min=1)
    weights = (1.0 - beta) / (
        1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts)
    )
    return weights * (len(weights) / weights.sum())


class ClassCountsLoss(nn.Module):
    """Base of the losses that need the training class counts ``n_c``.

    The counts come from the constructor (``class_counts``) or, when it is
    None, from :meth:`set_class_counts`, which ``LongTailLossHook`` calls at
    the start of training with the training dataset's
    ``metainfo['class_counts']``. They are kept in the non-persistent buffer
    ``class_counts`` ``[C]`` (not saved in checkpoints: a resumed run gets
    them again from the same source), so they follow ``model.to(device)``.

    Args:
        class_counts (sequence of int, optional): ``[C]`` training videos per
            class. None: wait for :meth:`set_class_counts`.
    """

    def __init__(self, class_counts: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        self.counts_from_config = class_counts is not None
        self.register_buffer(
            'class_counts', torch.zeros(0, dtype=torch.long), persistent=False
        )
        if class_counts is not None:
            self._store_counts(class_counts)

    def _store_counts(self, counts) -> None:
        arr = np.asarray(counts)
        if (
            arr.ndim != 1
            or arr.size == 0
            or not (
                np.issubdtype(arr.dtype, np.integer)
                or np.all(np.mod(arr, 1) == 0)
            )
            or np.any(arr < 0)
        ):
            raise ValueError(
                f'{type(self).__name__}: class_counts must be a non-empty '
                f'1-D sequence of ints >= 0, got {counts!r:.200}'
            )
        self.class_counts = torch.as_tensor(
            arr.astype(np.int64), device=self.class_counts.device
        )
        self.on_class_counts()

    @property
    def has_class_counts(self) -> bool:
        """Whether the counts are known."""
        return self.class_counts.numel() > 0

    def set_class_counts(self, class_counts: Sequence[int]) -> None:
        """Take the training split's counts (unless the config gave some).

        Args:
            class_counts (sequence of int): ``[C]`` videos per class.
        """
        if self.counts_from_config:
            if len(class_counts) != self.class_counts.numel():
                raise ValueError(
                    f'{type(self).__name__}: class_counts of the config has '
                    f'{self.class_counts.numel()} classes but the training '
                    f'dataset has {len(class_counts)}'
                )
            return
        self._store_counts(class_counts)

    def on_class_counts(self) -> None:
        """Hook for subclasses: derive their buffers from the counts."""

    def counts_for(self, logits: torch.Tensor) -> torch.Tensor:
        """The counts ``[C]``, checked against logits ``[B, C]``."""
        if not self.has_class_counts:
            raise ValueError(
                f'{type(self).__name__}: the class counts are unknown; give '
                "'class_counts' in the loss config or train with "
                "custom_hooks=[dict(type='LongTailLossHook')] (in "
                'configs/_base_/default_runtime.py), which hands over the '
                "training dataset's metainfo['class_counts']"
            )
        if logits.dim() != 2 or logits.shape[1] != self.class_counts.numel():
            raise ValueError(
                f'{type(self).__name__}: logits {tuple(logits.shape)} do not '
                f'match the {self.class_counts.numel()} class counts'
            )
        return self.class_counts
