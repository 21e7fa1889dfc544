"""MEID head: attention expert + complementary expert (docs/method.md)."""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmaction.utils import SampleList

from meid_mmaction.evaluation.functional.expert_combination import (
    DEFAULT_LOGIT_GRID,
    DEFAULT_MIX_GRID,
    combination_candidates,
)

from .base_multilabel_head import BaseMultiLabelHead
from .meid_combination import (
    AUTO_FALLBACKS,
    AUTO_INFERENCES,
    INFERENCES,
    ExpertCombinationMixin,
)
from .meid_modules import AttentionExpert, ComplementaryExpert, check_beta

_EXPERT2 = ('complementary', 'attention')
_STAGE2_LOSSES = ('sum', 'expert2')
_DISTILL2_NECKS = ('own', 'expert1')


@MODELS.register_module()
class MEIDHead(ExpertCombinationMixin, BaseMultiLabelHead):
    """Mixture of two experts with internal (head-to-tail) distillation.

    * Expert 1 (:class:`AttentionExpert`): ``Y = cls(pool_A(T(X)))``.
    * Expert 2 (:class:`ComplementaryExpert`): complementary frame selection
      ``R = 1 / (A + beta)`` on expert 1's frozen attention, a motion branch
      and a fusion layer: ``Y_F``. With ``expert2='attention'`` it is a
      second, independent attention expert instead (ablation).

    The head keeps its training stage in the persistent buffer
    ``train_stage`` (1 or 2), so that a checkpoint predicts what it was
    trained for: ``sigmoid(Y)`` after stage 1, ``sigmoid(Y + Y_F)`` (or the
    ``inference`` variant) after stage 2.

    Variants (constructor arguments; "paper" = docs/method.md, the defaults,
    "release" = the authors' released code, "ours" = project options):

    * stage-2 objective: ``stage2_loss='sum'``, ``L(Y + Y_F)`` (paper) or
      ``'expert2'``, ``L(Y_F)`` (release);
    * scores after stage 2: ``inference='logit_sum'``, ``sigmoid(Y + Y_F)``
      (paper) or ``'prob_mix'``, ``w sigmoid(Y) + (1 - w) sigmoid(Y_F)``
      (release with ``w = 0.5``; ``inference_weight``), or ``'auto'`` /
      ``'auto_group'`` (ours: chosen on the validation split after stage 2
      by ``ExpertCombinationHook``, globally or per head / medium / tail
      group, among ``sigmoid(Y + a Y_F)`` and the mixture; see
      :meth:`set_combination`);
    * complementary frame selection: ``cfs_norm='none'``, ``1 / (A +
      beta)`` (paper), ``'max'`` or ``'rank'``, and ``cfs_background_thr``
      (ours);
    * stage-2 distillation necks: ``distill2_necks='own'`` (paper) or
      ``'expert1'`` (ours: expert 1's necks, frozen); ``loss_distill``'s
      ``neck_mode`` ``'free'`` (paper), ``'frozen'``, ``'unit'`` (ours).

    :meth:`set_train_stage` (called by ``TwoStageTrainLoop``) also
    sets which parameters are trainable: stage 1 trains expert 1 and its
    distillation necks; stage 2 freezes them (``requires_grad=False``,
    eval mode, computed without autograd) and trains expert 2 and its necks.

    Inputs of :meth:`forward`:

    * ``[B * V, N, D]`` per-frame features (``FeatureRecognizer``), or
      ``[B, D]`` (one frame);
    * ``[B * N, D, h, w]`` backbone maps (``Recognizer2D``, ``num_segs=N``):
      average-pooled over space and regrouped to ``[B, N, D]``. ``N``
      counts every frame of every view (``Recognizer2D`` folds test-time
      crops, ``twice_sample`` and ``num_clips`` into ``num_segs``); with
      ``frames_per_view=F`` the ``N = V F`` frames are split into ``V``
      views of ``F`` consecutive frames (MMAction2's order: crop-major,
      then clip), each view is classified on its own and the scores are
      averaged per video. Without it all ``N`` frames form one sequence,
      which is right only for a single view per video.

    Args:
        num_classes (int): Number of classes ``C``.
        in_channels (int): Feature size ``D``.
        hidden_channels (int, optional): Embedding size ``H``; defaults to
            ``D``.
        norm (str): Frame-embedding norm, ``'LN'`` (default) or ``'BN'``.
        dropout (float): Frame-embedding dropout. Defaults to 0.
        use_attention (bool): Expert 1 uses frame attention (False: uniform
            mean pooling, and uniform CFS weights). Defaults to True.
        attention_act (str): ``'sigmoid'`` (default) or ``'softmax'`` over
            frames.
        attention_channels (int, optional): Attention hidden size; defaults
            to ``D // 4``.
        eps (float): Epsilon of the attention pooling. Defaults to 1e-6.
        beta (float): CFS offset ``beta`` in ``(0, 1)``. Defaults to 0.5.
        cfs_norm (str): ``'none'`` (docs/method.md: ``R = 1 / (A + beta)``) or
            ``'max'`` (``R = 1 / (A / max_n A + beta)``, independent of the
            scale of ``A``). Defaults to ``'none'``.
        cfs_background_thr (float): Frames with ``A / max_n A`` below it get
            no complementary weight (ours). Defaults to 0 (off).
        expert2 (str): ``'complementary'`` (default) or ``'attention'``.
        stage2_loss (str): ``'sum'`` (paper: ``L_cls(Y + Y_F)``, default)
            or ``'expert2'`` (release: ``L_cls(Y_F)``).
        inference (str): Scores after stage 2: ``'logit_sum'`` (paper:
            ``sigmoid(Y + Y_F)``, default) or ``'prob_mix'`` (release:
            ``w sigmoid(Y) + (1 - w) sigmoid(Y_F)``). ``forward`` returns
            the logit of the mixture (:func:`mix_logits`), so the
            predictions and ``average_clips`` work unchanged.
            ``'auto'`` / ``'auto_group'`` (ours): the combination chosen
            on validation (``ExpertCombinationHook``, in
            ``default_runtime.py``), one for all classes or one per
            head / medium / tail group; kept per class in the buffers
            ``combination_form`` ``[C]`` (0: ``sigmoid(Y + a Y_F)``, 1:
            the mixture), ``combination_value`` ``[C]`` (``a`` or ``w``)
            and ``combination_chosen`` (1 once chosen), so checkpoints,
            ``--resume`` and ``tools/test.py`` use it. Until a choice is
            made they hold ``auto_fallback``.
        inference_weight (float): ``w`` of ``'prob_mix'`` in ``[0, 1]``.
            Defaults to 0.5 (release).
        auto_fallback (str): Scoring of ``'auto'`` / ``'auto_group'``
            before a choice exists (no validation after stage 2 yet, or a
            checkpoint without the buffers): ``'prob_mix'`` (default, with
            ``inference_weight``; the release scoring) or ``'logit_sum'``.
        auto_logit_grid (Sequence[float]): The ``a`` values tried, ``>= 0``
            (0, expert 1 alone, is always tried). Defaults to 0, 0.25,
            ..., 3, 4, 6, 8.
        auto_mix_grid (Sequence[float]): The ``w`` values tried, in
            ``[0, 1]``; ``()`` tries the logit form only. Defaults to 0,
            0.1, ..., 1.
        distill2_necks (str): ``'own'`` (default: expert 2 has its own
            trainable necks) or ``'expert1'`` (stage 2 reuses expert 1's
            necks, frozen: ``L_d2 = L_d(Y_F)`` measured in expert 1's
            neck space).
        aggregator (dict, optional): Frame aggregator replacing the weighted
            mean pooling of both experts (e.g. ``dict(type='NetVLAD')``,
            ``in_channels`` filled in with ``H``); each expert builds its
            own instance. Expert 1 pools ``T`` with ``A`` as frame weights,
            expert 2 pools ``T'`` with ``R``; the weights scale each frame's
            soft assignment in the VLAD layers (docs/method.md). None
            (default) keeps the normalised weighted mean.
        aggregate_motion (bool): With an aggregator, expert 2's motion
            branch gets its own instance too (uniform weights). Defaults to
            False: the motion branch keeps its plain mean, because ``R``
            does not refer to its frame differences and a second VLAD layer
            would double expert 2's size.
        aggregator_input (str): What the aggregators pool: ``'embedding'``
            (default: ``T`` resp. ``T'``, as above) or ``'frames'`` (the
            raw features ``X``, as VideoLT's and MOVE's NetVLAD models do;
            the experts then have no frame embedding ``T`` / ``T'``). With
            ``aggregator=dict(type='NetVLAD', mean_branch=True)`` this is
            MOVE's pairing: each expert classifies ``[sum_n w_n x_n /
            sum_n w_n; VLAD(X; w)]`` (docs/benchmarks.md, "MEID + NetVLAD
            vs MEID", issue 16). Only used with an aggregator.
        loss_cls (dict): Classification loss (of ``Y`` resp. ``Y + Y_F``).
            Defaults to ``MultiLabelFocalLoss`` (``alpha = gamma = 1``).
        loss_distill (dict, optional): Distillation loss config, built once
            per expert (each expert has its own necks); ``num_classes`` is
            filled in. None disables distillation. Defaults to
            ``HeadTailDistillLoss`` (``K = 128``, ``lambda = 0.1``).
        frames_per_view (int, optional): Frames of one view of backbone
            maps (``num_clips * clip_len`` of one crop), see above. None
            (default): one view per video.
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (PyTorch's default initialisation).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        hidden_channels: Optional[int] = None,
        norm: str = 'LN',
        dropout: float = 0.0,
        use_attention: bool = True,
        attention_act: str = 'sigmoid',
        attention_channels: Optional[int] = None,
        eps: float = 1e-6,
        beta: float = 0.5,
        cfs_norm: str = 'none',
        cfs_background_thr: float = 0.0,
        expert2: str = 'complementary',
        stage2_loss: str = 'sum',
        inference: str = 'logit_sum',
        inference_weight: float = 0.5,
        auto_fallback: str = 'prob_mix',
        auto_logit_grid: Sequence[float] = DEFAULT_LOGIT_GRID,
        auto_mix_grid: Sequence[float] = DEFAULT_MIX_GRID,
        distill2_necks: str = 'own',
        aggregator: Optional[dict] = None,
        aggregate_motion: bool = False,
        aggregator_input: str = 'embedding',
        frames_per_view: Optional[int] = None,
        loss_cls: dict = dict(type='MultiLabelFocalLoss'),  # noqa: B006
        loss_distill: Optional[dict] = dict(  # noqa: B006
            type='HeadTailDistillLoss'
        ),
        init_cfg: Optional[dict] = None,
        **kwargs,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls,
            init_cfg=init_cfg,
            **kwargs,
        )
        if expert2 not in _EXPERT2:
            raise ValueError(
                f'expert2={expert2!r} is not supported; '
                f'expected one of {_EXPERT2}'
            )
        check_beta(beta)
        for name, value, allowed in (
            ('stage2_loss', stage2_loss, _STAGE2_LOSSES),
            ('inference', inference, INFERENCES),
            ('auto_fallback', auto_fallback, AUTO_FALLBACKS),
            ('distill2_necks', distill2_necks, _DISTILL2_NECKS),
        ):
            if value not in allowed:
                raise ValueError(
                    f'{name}={value!r} is not supported; '
                    f'expected one of {allowed}'
                )
        if (
            isinstance(inference_weight, bool)
            or not isinstance(inference_weight, (int, float))
            or not 0.0 <= inference_weight <= 1.0
        ):
            raise ValueError(
                'inference_weight must be a number in [0, 1], '
                f'got {inference_weight!r}'
            )
        if frames_per_view is not None and (
            isinstance(frames_per_view, bool)
            or not isinstance(frames_per_view, int)
            or frames_per_view < 1
        ):
            raise ValueError(
                'frames_per_view must be a positive int or '
                f'None, got {frames_per_view!r}'
            )
        self.frames_per_view = frames_per_view
        self.stage2_loss = stage2_loss
        self.inference = inference
        self.inference_weight = float(inference_weight)
        self.auto_fallback = auto_fallback
        #: Candidates of ``'auto'`` / ``'auto_group'`` (checked here even
        #: when unused, so that a bad grid fails at construction).
        self.combination_candidates = combination_candidates(
            auto_logit_grid, auto_mix_grid
        )
        self.distill2_necks = distill2_necks
        hidden = hidden_channels or in_channels
        self.hidden_channels = hidden
        self.expert2_type = expert2
        sizes = (in_channels, hidden, num_classes)
        shared = dict(
            norm=norm,
            dropout=dropout,
            aggregator=aggregator,
            aggregator_input=aggregator_input,
        )
        attention_kw = dict(
            use_attention=use_attention,
            attention_act=attention_act,
            attention_channels=attention_channels,
            eps=eps,
        )
        self.expert1 = AttentionExpert(*sizes, **shared, **attention_kw)
        if expert2 == 'complementary':
            self.expert2 = ComplementaryExpert(
                *sizes,
                **shared,
                beta=beta,
                cfs_norm=cfs_norm,
                cfs_background_thr=cfs_background_thr,
                aggregate_motion=aggregate_motion,
            )
        else:
            self.expert2 = AttentionExpert(*sizes, **shared, **attention_kw)
        if loss_distill is None:
            self.distill1 = self.distill2 = None
        else:
            default = dict(num_classes=num_classes)
            self.distill1 = MODELS.build(loss_distill, default_args=default)
            self.distill2 = (
                None
                if distill2_necks == 'expert1'
                else MODELS.build(loss_distill, default_args=default)
            )
        # Stage 1 at construction. requires_grad is left on everywhere here:
        # DDP only registers parameters that require grad when it wraps the
        # model, and expert 2 must be among them for stage 2.
        self.register_buffer('train_stage', torch.ones((), dtype=torch.long))
        if inference in AUTO_INFERENCES:
            self._register_combination_buffers(num_classes)
        # expert logits recorded by forward() for ExpertCombinationHook
        self._expert_records: Optional[List] = None
        # Host copy of ``train_stage``: reading the buffer (``.item()``)
        # would synchronise with the GPU several times per step.
        self._stage = 1

    # ------------------------------------------------------------------
    # stages
    @property
    def stage(self) -> int:
        """Current stage: 1 (expert 1 only) or 2 (both experts)."""
        return self._stage

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Load as usual, then refresh the host copy of ``train_stage``."""
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._stage = int(self.train_stage.item())

    def stage_modules(self, stage: int) -> Tuple[nn.Module, ...]:
        """Modules trained in ``stage`` (the expert and its necks)."""
        if stage == 1:
            mods = (self.expert1, self.distill1)
        else:
            mods = (self.expert2, self.distill2)
        return tuple(m for m in mods if m is not None)

    def set_train_stage(self, stage: int) -> None:
        """Switch to stage 1 or 2: store it in the ``train_stage`` buffer
        and make only that stage's modules trainable (the other expert gets
        ``requires_grad=False`` and ``.grad = None``; in stage 2 expert 1 is
        also kept in eval mode). Optimizer state of the frozen parameters is
        the caller's (``TwoStageTrainLoop`` drops it)."""
        if stage not in (1, 2):
            raise ValueError(f'stage must be 1 or 2, got {stage!r}')
        self.train_stage.fill_(stage)
        self._stage = stage
        for s in (1, 2):
            for module in self.stage_modules(s):
                module.requires_grad_(s == stage)
                if s != stage:
                    for p in module.parameters():
                        p.grad = None
        self.train(self.training)

    def train(self, mode: bool = True) -> 'MEIDHead':
        """Set the mode; the frozen expert 1 stays in eval mode in stage 2."""
        super().train(mode)
        if mode and self.stage == 2:
            for module in self.stage_modules(1):
                module.eval()
        return self

    # ------------------------------------------------------------------
    # forward
    def _to_frames(self, x, num_segs: Optional[int]) -> torch.Tensor:
        """Input features -> per-frame features ``[B, N, D]``."""
        if not isinstance(x, torch.Tensor):
            raise ValueError(
                f'MEIDHead expects a tensor, got {type(x).__name__}'
            )
        if x.dim() == 2:
            x = x.unsqueeze(1)
        elif x.dim() == 4:
            if not num_segs or x.shape[0] % int(num_segs):
                raise ValueError(
                    f'MEIDHead got backbone maps {tuple(x.shape)} '
                    f'[B * N, D, h, w] with num_segs={num_segs}; expected '
                    'num_segs = frames per video dividing the first axis'
                )
            x = x.mean(dim=(2, 3)).reshape(-1, int(num_segs), x.shape[1])
            x = self._split_views(x)
        elif x.dim() != 3:
            raise ValueError(
                'MEIDHead expects [B, N, D] features or [B * N, D, h, w] '
                f'backbone maps, got shape {tuple(x.shape)}'
            )
        if x.shape[-1] != self.in_channels:
            raise ValueError(
                f'MEIDHead(in_channels={self.in_channels}) got '
                f'features with D={x.shape[-1]} '
                f'(shape {tuple(x.shape)})'
            )
        return x

    def _split_views(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, V * F, D]`` -> ``[B * V, F, D]`` (``F = frames_per_view``)."""
        frames = self.frames_per_view
        if frames is None or frames == x.shape[1]:
            return x
        if x.shape[1] % frames:
            raise ValueError(
                f'MEIDHead(frames_per_view={frames}) got num_segs='
                f'{x.shape[1]} frames per video, not a multiple of '
                f'{frames}: set frames_per_view to the frames of one view '
                '(num_clips * clip_len of one crop)'
            )
        return x.reshape(-1, frames, x.shape[-1])

    def forward_experts(
        self, x: torch.Tensor
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Per-frame features ``[B, N, D]`` -> ``(Y, Y_F)``, each ``[B, C]``;
        ``Y_F`` is None in stage 1. In stage 2 expert 1 runs without
        autograd."""
        if self.stage == 1:
            return self.expert1(x), None
        with torch.no_grad():
            y, attention = self.expert1.forward_with_weights(x)
        if self.expert2_type == 'complementary':
            y_f = self.expert2(x, attention)
        else:
            y_f = self.expert2(x)
        return y, y_f

    def forward(
        self, x: torch.Tensor, num_segs: Optional[int] = None, **kwargs
    ) -> torch.Tensor:
        """Logits ``[B', C]``: ``Y`` in stage 1, ``Y + Y_F`` in stage 2.

        Args:
            x (torch.Tensor): ``[B * V, N, D]`` (``B' = B * V``) or
                ``[B * N, D, h, w]`` (``B' = B``).
            num_segs (int, optional): Frames per video for 4-D inputs (as
                passed by ``Recognizer2D``); views for 3-D inputs (unused
                here, ``predict_by_feat`` averages the views).
        """
        y, y_f = self.forward_experts(self._to_frames(x, num_segs))
        if y_f is None:
            return y
        if self._expert_records is not None:
            self._expert_records.append(
                (y.detach().float().cpu(), y_f.detach().float().cpu())
            )
        return self.combine(y, y_f)

    # ------------------------------------------------------------------
    # losses
    def loss(
        self, feats: torch.Tensor, data_samples: SampleList, **kwargs
    ) -> Dict[str, torch.Tensor]:
        """Stage 1: ``L_cls(Y) + L_d1(Y)``; stage 2:
        ``L_cls(Y + Y_F) + L_d2(Y_F)`` (``L_cls(Y_F)`` with
        ``stage2_loss='expert2'``)."""
        x = self._to_frames(feats, kwargs.get('num_segs'))
        y, y_f = self.forward_experts(x)
        if y_f is None:
            return self.loss_by_feat(y, data_samples, expert_logits=y)
        scores = y_f if self.stage2_loss == 'expert2' else y + y_f
        return self.loss_by_feat(scores, data_samples, expert_logits=y_f)

    @property
    def stage_distill(self) -> Optional[nn.Module]:
        """The distillation loss of the current stage (None: off)."""
        if self.stage == 1 or self.distill2_necks == 'expert1':
            return self.distill1
        return self.distill2

    def loss_by_feat(
        self,
        cls_scores: torch.Tensor,
        data_samples: SampleList,
        expert_logits: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        """Losses of the current stage.

        Args:
            cls_scores (torch.Tensor): Logits of the classification loss
                ``[B, C]`` (``Y``; ``Y + Y_F`` or ``Y_F`` in stage 2).
            data_samples (list[ActionDataSample]): Ground truth.
            expert_logits (torch.Tensor, optional): Logits of the expert
                being trained ``[B, C]`` (``Y`` or ``Y_F``), used by the
                distillation loss. In stage 1 it defaults to
                ``cls_scores``; stage 2 needs it.

        Returns:
            dict: ``loss_cls`` and, with distillation, ``loss_distill``.
        """
        losses = super().loss_by_feat(cls_scores, data_samples)
        distill = self.stage_distill
        if distill is None:
            return losses
        if expert_logits is None:
            if self.stage == 2:
                raise ValueError(
                    'MEIDHead.loss_by_feat in stage 2 needs expert_logits '
                    '(Y_F of expert 2) for the distillation loss'
                )
            expert_logits = cls_scores
        losses['loss_distill'] = distill(expert_logits)
        return losses
