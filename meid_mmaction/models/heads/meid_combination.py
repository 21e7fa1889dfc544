"""MEID's scoring after stage 2: how the two experts' logits combine.

:class:`ExpertCombinationMixin` is the part of
:class:`~meid_mmaction.models.heads.MEIDHead` that turns ``(Y, Y_F)`` into
logits: the fixed scorings ``'logit_sum'`` (``Y + Y_F``) and ``'prob_mix'``
(the logit of ``w sigmoid(Y) + (1 - w) sigmoid(Y_F)``), and the per-class
combination chosen on validation (``'auto'`` / ``'auto_group'``, chosen by
``ExpertCombinationHook``) kept in the head's buffers ``combination_form``,
``combination_value`` and ``combination_chosen``. It holds no state of its
own: the head sets ``inference``, ``inference_weight``, ``auto_fallback``
and ``_expert_records`` and registers the buffers with
:meth:`ExpertCombinationMixin._register_combination_buffers`.
"""

from typing import Dict, Optional, Tuple

import torch

from meid_mmaction.evaluation.functional.expert_combination import (
    COMBINATION_FORMS,
    candidate_name,
)

from .meid_modules import mix_logits

#: Values of ``MEIDHead(inference=...)``.
INFERENCES = ('logit_sum', 'prob_mix', 'auto', 'auto_group')
#: The inferences chosen on validation.
AUTO_INFERENCES = ('auto', 'auto_group')
#: Values of ``MEIDHead(auto_fallback=...)``.
AUTO_FALLBACKS = ('logit_sum', 'prob_mix')


class ExpertCombinationMixin:
    """Combination of the experts' logits (mixed into ``MEIDHead``)."""

    def _register_combination_buffers(self, num_classes: int) -> None:
        """Register ``combination_form`` ``[C]`` (long),
        ``combination_value`` ``[C]`` (float32) and ``combination_chosen``
        (long scalar), holding ``auto_fallback`` until a choice is made."""
        # per-class choice (long / float: SyncBuffersHook averages
        # buffers across ranks, which keeps equal values equal)
        fallback_mix = self.auto_fallback == 'prob_mix'
        self.register_buffer(
            'combination_form',
            torch.full((num_classes,), int(fallback_mix), dtype=torch.long),
        )
        self.register_buffer(
            'combination_value',
            torch.full(
                (num_classes,),
                self.inference_weight if fallback_mix else 1.0,
                dtype=torch.float32,
            ),
        )
        self.register_buffer(
            'combination_chosen', torch.zeros((), dtype=torch.long)
        )

    def combine(self, y: torch.Tensor, y_f: torch.Tensor) -> torch.Tensor:
        """Stage-2 logits ``[B, C]`` from ``Y`` and ``Y_F`` (``[B, C]``
        each): ``Y + Y_F``, the logit of the ``'prob_mix'`` mixture, or the
        stored per-class combination (``'auto'`` / ``'auto_group'``)."""
        if self.inference in AUTO_INFERENCES:
            return self.combine_with(
                y, y_f, self.combination_form, self.combination_value
            )
        if self.inference == 'prob_mix':
            return mix_logits(y, y_f, self.inference_weight)
        return y + y_f

    @staticmethod
    def combine_with(
        y: torch.Tensor,
        y_f: torch.Tensor,
        form: torch.Tensor,
        value: torch.Tensor,
    ) -> torch.Tensor:
        """Per-class combination of the experts' logits.

        Args:
            y (torch.Tensor): ``Y`` ``[..., C]``.
            y_f (torch.Tensor): ``Y_F`` ``[..., C]``.
            form (torch.Tensor): ``[C]`` long: 0 gives ``Y + a Y_F``, 1 the
                logit of ``w sigmoid(Y) + (1 - w) sigmoid(Y_F)``.
            value (torch.Tensor): ``[C]`` ``a`` resp. ``w``.

        Returns:
            torch.Tensor: ``[..., C]`` logits. Both forms are computed and
            selected per class (no host synchronisation).
        """
        value = value.to(device=y.device, dtype=y.dtype)
        mixed = mix_logits(y, y_f, value.clamp(0.0, 1.0))
        summed = y + value * y_f
        return torch.where(form.to(y.device) == 1, mixed, summed)

    # ------------------------------------------------------------------
    # validation-chosen combination ('auto', 'auto_group'; ours)
    @property
    def combination_mode(self) -> Optional[str]:
        """``'auto'`` / ``'auto_group'``, or None for a fixed scoring."""
        return self.inference if self.inference in AUTO_INFERENCES else None

    def record_experts(self, enabled: bool) -> None:
        """Start (clearing earlier records) or stop recording ``(Y, Y_F)``
        in :meth:`forward` (stage 2 only); read with
        :meth:`pop_expert_records`."""
        self._expert_records = [] if enabled else None

    def pop_expert_records(
        self,
    ) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        """``(Y, Y_F)`` recorded since the last call, each ``[B', C]``
        (float32, CPU; ``B'`` rows as :meth:`forward` returned them), or
        ``(None, None)`` when nothing was recorded."""
        records = self._expert_records or []
        if self._expert_records is not None:
            self._expert_records = []
        if not records:
            return None, None
        return (
            torch.cat([r[0] for r in records]),
            torch.cat([r[1] for r in records]),
        )

    def combination_scores(
        self,
        y: torch.Tensor,
        y_f: torch.Tensor,
        form: torch.Tensor,
        value: torch.Tensor,
    ) -> torch.Tensor:
        """Per-video scores ``[N, C]`` of a combination, computed as
        :meth:`predict_by_feat` computes them (combined logits, then
        ``scores_from_logits``, averaged over the views).

        Args:
            y (torch.Tensor): ``Y`` per video and view ``[N, V, C]``.
            y_f (torch.Tensor): ``Y_F`` ``[N, V, C]``.
            form (torch.Tensor): ``[C]`` (see :meth:`combine_with`).
            value (torch.Tensor): ``[C]``.
        """
        logits = self.combine_with(y, y_f, form, value)
        return self.scores_from_logits(logits).mean(dim=1)

    def set_combination(self, form: torch.Tensor, value: torch.Tensor) -> None:
        """Store a chosen per-class combination (``[C]`` each, see
        :meth:`combine_with`) and mark it chosen."""
        if self.combination_mode is None:
            raise ValueError(
                f'MEIDHead(inference={self.inference!r}) has no stored '
                f'combination; set inference to one of {AUTO_INFERENCES}'
            )
        shape = tuple(self.combination_form.shape)
        if tuple(form.shape) != shape or tuple(value.shape) != shape:
            raise ValueError(
                f'set_combination expects form and value of shape {shape}, '
                f'got {tuple(form.shape)} and {tuple(value.shape)}'
            )
        self.combination_form.copy_(form)
        self.combination_value.copy_(value)
        self.combination_chosen.fill_(1)

    def describe_combination(self) -> str:
        """The stored combination in words (for logs), e.g.
        ``'chosen on validation: s(Y + 0.25 Y_F) for all 50 classes'``."""
        if self.combination_mode is None:
            return f'fixed: inference={self.inference!r}'
        pairs = [
            (COMBINATION_FORMS[int(f)], float(v))
            for f, v in zip(
                self.combination_form.tolist(),
                self.combination_value.tolist(),
            )
        ]
        counts: Dict[Tuple[str, float], int] = {}
        for pair in pairs:
            counts[pair] = counts.get(pair, 0) + 1
        parts = ', '.join(
            f'{candidate_name(p)} for {n} classes' for p, n in counts.items()
        )
        if int(self.combination_chosen):
            return f'chosen on validation: {parts}'
        return f'not chosen yet, fallback {self.auto_fallback!r}: {parts}'
