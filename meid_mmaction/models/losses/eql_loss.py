"""Equalization loss (Tan et al., 2020), sigmoid multi-label forms."""

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS

from ...utils.rng import StepCounter, step_torch_generator
from .utils import ClassCountsLoss, check_reduction, reduce_loss

_MODES = ('random', 'threshold')


def eql_weights(
    targets: torch.Tensor,
    tail_mask: torch.Tensor,
    drop: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """EQL weights ``1 - b * tail_c * (1 - y)``, ``[B, C]``.

    Args:
        targets (torch.Tensor): ``[B, C]`` multi-hot (soft targets give a
            partial weight ``1 - b * tail * (1 - y)``).
        tail_mask (torch.Tensor): ``[C]``, 1 for the classes whose negatives
            may be dropped.
        drop (torch.Tensor, optional): ``[B, C]`` 0/1 draws ``b``; None
            drops every tail negative (the original, deterministic EQL).
    """
    targets = targets.to(
        torch.float32 if not targets.is_floating_point() else targets.dtype
    )
    b = 1.0 if drop is None else drop.to(targets)
    return 1.0 - b * tail_mask.to(targets) * (1.0 - targets)


def eql_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    tail_mask: torch.Tensor,
    drop: Optional[torch.Tensor] = None,
    reduction: str = 'batch_sum',
    loss_mask: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Sigmoid BCE with EQL's weights on the negatives of tail classes.

    Args:
        logits (torch.Tensor): ``[B, C]``.
        targets (torch.Tensor): ``[B, C]`` multi-hot targets.
        tail_mask (torch.Tensor): ``[C]`` 0/1 tail indicator.
        drop (torch.Tensor, optional): ``[B, C]`` Bernoulli draws (VideoLT's
            random form); None: every tail negative dropped (original EQL).
        reduction (str): ``'none'``, ``'mean'``, ``'sum'`` or
            ``'batch_sum'`` (default).
        loss_mask (torch.Tensor, optional): ``[B, C]`` per-element weight.

    Returns:
        torch.Tensor: ``[B, C]`` or a scalar.
    """
    check_reduction(reduction)
    if logits.shape != targets.shape or tail_mask.shape != logits.shape[1:]:
        raise ValueError(
            f'logits {tuple(logits.shape)}, targets {tuple(targets.shape)} '
            f'and tail_mask {tuple(tail_mask.shape)} must be [B, C], '
            '[B, C], [C]'
        )
    if drop is not None and drop.shape != logits.shape:
        raise ValueError(
            f'drop {tuple(drop.shape)} must be {tuple(logits.shape)}'
        )
    bce = F.binary_cross_entropy_with_logits(
        logits, targets.to(logits.dtype), reduction='none'
    )
    loss = bce * eql_weights(targets.to(logits.dtype), tail_mask, drop)
    return reduce_loss(loss, reduction, loss_mask)


@MODELS.register_module()
class EQLLoss(ClassCountsLoss, StepCounter):
    """Equalization loss on sigmoid logits.

    Tail classes are, by default (``tail_thr=None``), the training
    dataset's tail group (``metainfo['class_groups']['tail']``, handed over
    by ``LongTailLossHook``; VideoLT: ``n_c <= 100``, the evaluator's
    grouping); with ``tail_thr`` those with ``n_c <= tail_thr`` training
    videos; with ``tail_freq`` those whose share of the training labels
    ``n_c / sum(n)`` is below it (the original's frequency threshold
    ``lambda``).

    * ``mode='random'`` (VideoLT): a negative of a tail class loses its
      loss when a Bernoulli(``drop_prob``) draw fires, fresh every step.
      The draws come from a generator on the logits' device seeded with
      ``(seed, rank, step)``; the step counter is the persistent buffer
      ``num_steps`` (read through its host copy: no device sync), so a
      resumed run draws what the uninterrupted run drew, and ranks draw
      differently. CPU and CUDA generators draw different streams from the
      same seed (each reproducible). ``seed=None`` uses torch's global
      generator.
    * ``mode='threshold'`` (Tan et al., 2020): every negative of a tail
      class is dropped, deterministically.

    Args:
        class_counts (sequence of int, optional): ``[C]``; None (default):
            the training dataset's, handed over by ``LongTailLossHook``.
        mode (str): ``'random'`` (default) or ``'threshold'``.
        drop_prob (float): Bernoulli probability ``gamma`` of the random
            form. Defaults to 1.76e-3.
        tail_thr (int, optional): Tail classes have ``n_c <= tail_thr``.
            Defaults to None (the dataset's tail group).
        tail_freq (float, optional): Use ``n_c / sum(n) < tail_freq``
            instead. Defaults to None.
        seed (int, optional): Seed of the random draws. Defaults to 0.
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
        mode: str = 'random',
        drop_prob: float = 1.76e-3,
        tail_thr: Optional[int] = None,
        tail_freq: Optional[float] = None,
        seed: Optional[int] = 0,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f'mode={mode!r} is not one of {_MODES}')
        if not 0.0 <= drop_prob <= 1.0:
            raise ValueError(f'drop_prob must be in [0, 1], got {drop_prob!r}')
        if tail_freq is not None and not 0.0 < tail_freq <= 1.0:
            raise ValueError(
                f'tail_freq must be in (0, 1] or None, got {tail_freq!r}'
            )
        if seed is not None and not isinstance(seed, int):
            raise ValueError(f'seed must be an int or None, got {seed!r}')
        self.mode = mode
        self.drop_prob = float(drop_prob)
        if tail_thr is not None and tail_freq is not None:
            raise ValueError('give tail_thr or tail_freq, not both')
        self.tail_thr = None if tail_thr is None else int(tail_thr)
        self.tail_freq = tail_freq
        self.seed = seed
        self.reduction = check_reduction(reduction)
        self.loss_weight = float(loss_weight)
        super().__init__(class_counts)
        self.init_step_counter()
        self._tail_classes: Optional[List[int]] = None
        self._tail_mask: Optional[torch.Tensor] = None

    def set_class_groups(self, class_groups: dict) -> None:
        """Take the dataset's tail group (used when ``tail_thr`` and
        ``tail_freq`` are None)."""
        if not isinstance(class_groups, dict) or 'tail' not in class_groups:
            raise ValueError(
                "class_groups must be a dict with key 'tail', "
                f'got {class_groups!r:.200}'
            )
        self._tail_classes = [int(c) for c in class_groups['tail']]
        self._tail_mask = None

    def on_class_counts(self) -> None:
        """New counts: the tail mask is derived again when next used."""
        self._tail_mask = None

    def tail_mask(self) -> torch.Tensor:
        """``[C]`` float 0/1: the classes whose negatives may be dropped.

        Derived once per set of counts / groups and device (a training step
        reuses it: no host -> device copy of the class list per step).
        """
        cached = self._tail_mask
        if cached is None or cached.device != self.class_counts.device:
            cached = self._tail_mask = self._derive_tail_mask()
        return cached

    def _derive_tail_mask(self) -> torch.Tensor:
        """:meth:`tail_mask`, computed."""
        counts = self.class_counts.to(torch.float64)
        if self.tail_freq is not None:
            return (counts / counts.sum() < self.tail_freq).float()
        if self.tail_thr is not None:
            return (counts <= self.tail_thr).float()
        if self._tail_classes is None:
            raise ValueError(
                'EQLLoss: no tail classes; give tail_thr or tail_freq, or '
                'train with LongTailLossHook (hands over metainfo'
                "['class_groups'])"
            )
        mask = torch.zeros_like(counts, dtype=torch.float32)
        bad = [c for c in self._tail_classes if not 0 <= c < len(mask)]
        if bad:
            raise ValueError(
                f'EQLLoss: tail classes {bad[:10]} outside [0, {len(mask)})'
            )
        mask[self._tail_classes] = 1.0
        return mask

    def draw(self, shape, device) -> torch.Tensor:
        """Bernoulli(``drop_prob``) draws ``[B, C]`` of the current step,
        made on ``device`` (no host -> device copy)."""
        if self.seed is None:
            return (torch.rand(shape, device=device) < self.drop_prob).float()
        gen = step_torch_generator(self.seed, self.step, device)
        draws = torch.rand(shape, generator=gen, device=device)
        return (draws < self.drop_prob).float()

    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        loss_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Loss of logits / targets ``[B, C]`` (optional mask ``[B, C]``).

        In training mode with ``mode='random'`` each call is one step: it
        draws and advances ``num_steps``.
        """
        self.counts_for(logits)
        drop = None
        if self.mode == 'random':
            drop = self.draw(logits.shape, logits.device)
            if self.training:
                self.next_step()
        return self.loss_weight * eql_loss(
            logits, targets, self.tail_mask(), drop, self.reduction, loss_mask
        )
