"""Building blocks of the MEID head (docs/method.md, experts 1 and 2).

Plain ``nn.Module`` parts, not registered: :class:`MEIDHead` composes them.
"""

import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmaction.registry import MODELS

_NORMS = ('LN', 'BN')
_ATTENTION_ACTS = ('sigmoid', 'softmax')


class FrameEmbedding(nn.Module):
    """Per-frame embedding ``T = Dropout(ReLU(Linear(Norm(X))))``.

    Args:
        in_channels (int): Feature size ``D``.
        out_channels (int): Embedding size ``H``.
        norm (str): ``'LN'`` (LayerNorm over ``D``, default) or ``'BN'``
            (BatchNorm1d over ``D``, statistics over all ``B * N`` frames).
        dropout (float): Dropout after the ReLU. Defaults to 0.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: str = 'LN',
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(
                f'norm={norm!r} is not supported; expected one of {_NORMS}'
            )
        self.norm = (
            nn.LayerNorm(in_channels)
            if norm == 'LN'
            else nn.BatchNorm1d(in_channels)
        )
        self.fc = nn.Linear(in_channels, out_channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, N, D]`` -> ``[B, N, H]``."""
        b, n, d = x.shape
        if isinstance(self.norm, nn.BatchNorm1d):
            x = self.norm(x.reshape(b * n, d)).reshape(b, n, d)
        else:
            x = self.norm(x)
        return self.dropout(torch.relu(self.fc(x)))


class FrameAttention(nn.Module):
    """Frame weights ``A = act(Linear_2(ReLU(Linear_1(X))))`` on raw features.

    Args:
        in_channels (int): Feature size ``D``.
        hidden_channels (int, optional): Hidden size; defaults to ``D // 4``
            (at least 1).
        act (str): ``'sigmoid'`` (independent weights in ``(0, 1)``, default)
            or ``'softmax'`` (normalised over the frames).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: Optional[int] = None,
        act: str = 'sigmoid',
    ) -> None:
        super().__init__()
        if act not in _ATTENTION_ACTS:
            raise ValueError(
                f'attention act={act!r} is not supported; '
                f'expected one of {_ATTENTION_ACTS}'
            )
        hidden = hidden_channels or max(in_channels // 4, 1)
        self.act = act
        self.fc1 = nn.Linear(in_channels, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, N, D]`` -> weights ``[B, N]``."""
        scores = self.fc2(torch.relu(self.fc1(x))).squeeze(-1)
        if self.act == 'softmax':
            return torch.softmax(scores, dim=1)
        return torch.sigmoid(scores)


def weighted_mean_pool(
    feats: torch.Tensor, weights: torch.Tensor, eps: float = 0.0
) -> torch.Tensor:
    """Normalised weighted mean ``sum_n w_n t_n / (sum_n w_n + eps)``.

    Args:
        feats (torch.Tensor): Frame embeddings ``[B, N, H]``.
        weights (torch.Tensor): Frame weights ``[B, N]``.
        eps (float): Added to the denominator. Defaults to 0.

    Returns:
        torch.Tensor: ``[B, H]``.
    """
    num = (weights.unsqueeze(-1) * feats).sum(dim=1)
    return num / (weights.sum(dim=1, keepdim=True) + eps)


def build_aggregator(
    cfg: Optional[dict], in_channels: int
) -> Optional[nn.Module]:
    """Build a frame aggregator (``meid_mmaction.models.aggregators``) on
    ``in_channels``-wide frames; None stays None (weighted mean pooling).
    """
    if cfg is None:
        return None
    agg = MODELS.build(cfg, default_args=dict(in_channels=in_channels))
    if getattr(agg, 'in_channels', in_channels) != in_channels:
        raise ValueError(
            f'aggregator {cfg.get("type")!r} has in_channels='
            f'{agg.in_channels}, but pools frame embeddings of size '
            f'{in_channels}; leave in_channels out of the aggregator config'
        )
    return agg


CFS_NORMS = ('none', 'max', 'rank')

#: What an expert's aggregator pools: its frame embedding ``T`` or the raw
#: frame features ``X`` (see :class:`AttentionExpert`).
AGGREGATOR_INPUTS = ('embedding', 'frames')


def check_aggregator_input(value: str) -> str:
    """Return ``value`` if it is one of :data:`AGGREGATOR_INPUTS`, else raise
    ``ValueError`` naming the allowed values."""
    if value not in AGGREGATOR_INPUTS:
        raise ValueError(
            f'aggregator_input={value!r} is not supported; '
            f'expected one of {AGGREGATOR_INPUTS}'
        )
    return value


def check_beta(beta: float) -> float:
    """Return ``beta`` if it is a number in ``(0, 1)`` (docs/method.md), else
    raise ``ValueError``."""
    if (
        isinstance(beta, bool)
        or not isinstance(beta, (int, float))
        or not 0.0 < beta < 1.0
    ):
        raise ValueError(
            f'beta must be a number in (0, 1) (complementary '
            f'frame selection R = 1 / (A + beta)), got {beta!r}'
        )
    return float(beta)


def complementary_weights(
    attention: torch.Tensor,
    beta: float = 0.5,
    norm: str = 'none',
    eps: float = 1e-6,
    background_thr: float = 0.0,
) -> torch.Tensor:
    """Complementary frame selection ``R = 1 / (A' + beta)``, ``[B, N]``.

    ``A'`` depends on ``norm``:

    * ``'none'`` (paper, docs/method.md): ``A' = A``;
    * ``'max'`` (ours): ``A' = A / (max_n A + eps)`` per video. Expert 1
      pools with the normalised mean ``sum A T / sum A``, which ignores the
      scale of ``A``, so a trained sigmoid attention can shrink towards 0,
      where ``1 / (A + beta)`` becomes constant; this complement does not
      depend on that scale (docs/benchmarks.md, MEID ablation);
    * ``'rank'`` (ours): ``A'`` is the rank of ``A_n`` within its video
      divided by ``N - 1`` (0 for the frame expert 1 attends to least, 1
      for the most; ties by position), independent of any monotone
      transform of ``A``.

    With ``background_thr > 0`` (ours) frames that expert 1 treats as
    background, ``A / max_n A < background_thr``, get ``R = 0``, so the
    complement does not move weight onto them; the frame with the largest
    ``A`` always keeps its weight.

    Args:
        attention (torch.Tensor): Expert 1's frame weights ``A`` ``[B, N]``.
        beta (float): Offset in ``(0, 1)``.
        norm (str): ``'none'``, ``'max'`` or ``'rank'``.
        eps (float): Guards the division by ``max_n A``.
        background_thr (float): In ``[0, 1)``; 0 keeps every frame.

    Returns:
        torch.Tensor: ``R`` ``[B, N]``.
    """
    if norm not in CFS_NORMS:
        raise ValueError(f'cfs_norm={norm!r} is not one of {CFS_NORMS}')
    if not 0.0 <= background_thr < 1.0:
        raise ValueError(
            f'cfs_background_thr must be in [0, 1), got {background_thr!r}'
        )
    scaled = None
    if norm == 'max' or background_thr > 0:
        scaled = attention / (attention.amax(dim=1, keepdim=True) + eps)
    if norm == 'max':
        a = scaled
    elif norm == 'rank':
        n = attention.shape[1]
        order = attention.argsort(dim=1, stable=True)
        ranks = torch.empty_like(order)
        ranks.scatter_(
            1, order, torch.arange(n, device=order.device).expand_as(order)
        )
        a = ranks.to(attention.dtype) / max(n - 1, 1)
    else:
        a = attention
    r = 1.0 / (a + beta)
    if background_thr > 0:
        r = r * (scaled >= background_thr).to(r.dtype)
    return r


def mix_logits(
    y1: torch.Tensor,
    y2: torch.Tensor,
    weight: Union[float, torch.Tensor] = 0.5,
) -> torch.Tensor:
    """Logit of the probability mixture ``w sigma(y1) + (1 - w) sigma(y2)``.

    Computed in log space (stable for large logits), so that ``sigmoid``
    of the result is the mixture: the head keeps returning logits.

    Args:
        y1 (torch.Tensor): Logits of expert 1 ``[..., C]``.
        y2 (torch.Tensor): Logits of expert 2 ``[..., C]``.
        weight (float | torch.Tensor): ``w`` in ``[0, 1]``, a number or a
            tensor broadcastable to ``[..., C]`` (e.g. one ``w`` per class
            ``[C]``). ``w = 1`` returns ``y1`` and ``w = 0`` returns ``y2``
            exactly.

    Returns:
        torch.Tensor: ``[..., C]``.
    """
    f = torch.nn.functional.logsigmoid
    if isinstance(weight, torch.Tensor):
        w = weight.to(y1.dtype)
        # log(0) = -inf drops a term of the mixture; the ends are then
        # replaced by y1 / y2 exactly
        lw, lv = torch.log(w), torch.log1p(-w)
        log_p = torch.logaddexp(lw + f(y1), lv + f(y2))
        log_q = torch.logaddexp(lw + f(-y1), lv + f(-y2))
        mixed = torch.where(w <= 0.0, y2, log_p - log_q)
        return torch.where(w >= 1.0, y1, mixed)
    if weight <= 0.0:
        return y2
    if weight >= 1.0:
        return y1
    lw, lv = math.log(weight), math.log1p(-weight)
    log_p = torch.logaddexp(lw + f(y1), lv + f(y2))
    log_q = torch.logaddexp(lw + f(-y1), lv + f(-y2))
    return log_p - log_q


def motion_features(x: torch.Tensor) -> torch.Tensor:
    """``X_M = [x_2 - x_1, ..., x_N - x_{N-1}, mean_n x_n]``.

    Args:
        x (torch.Tensor): Frame features ``[B, N, D]``.

    Returns:
        torch.Tensor: ``[B, N, D]``: ``N - 1`` adjacent differences followed
        by the mean frame.
    """
    diffs = x[:, 1:] - x[:, :-1]
    return torch.cat([diffs, x.mean(dim=1, keepdim=True)], dim=1)


class AttentionExpert(nn.Module):
    """Expert 1: frame embedding, frame attention, pooling, classifier.

    Args:
        in_channels (int): ``D``.
        hidden_channels (int): ``H``.
        num_classes (int): ``C``.
        norm (str): Norm of the frame embedding (``'LN'`` / ``'BN'``).
        dropout (float): Dropout of the frame embedding.
        use_attention (bool): False: uniform mean pooling, no attention
            module.
        attention_act (str): ``'sigmoid'`` or ``'softmax'``.
        attention_channels (int, optional): Attention hidden size
            (default ``D // 4``).
        eps (float): Pooling epsilon.
        aggregator (dict, optional): Frame aggregator config replacing the
            weighted mean; it pools ``T`` with ``A`` as frame weights.
        aggregator_input (str): ``'embedding'`` (default: the aggregator
            pools ``T``) or ``'frames'`` (it pools the raw features ``X``
            ``[B, N, D]``, as VideoLT's and MOVE's NetVLAD models do; the
            expert then has no frame embedding). Only used with an
            aggregator.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        num_classes: int,
        norm: str = 'LN',
        dropout: float = 0.0,
        use_attention: bool = True,
        attention_act: str = 'sigmoid',
        attention_channels: Optional[int] = None,
        eps: float = 1e-6,
        aggregator: Optional[dict] = None,
        aggregator_input: str = 'embedding',
    ) -> None:
        super().__init__()
        on_frames = (
            check_aggregator_input(aggregator_input) == 'frames'
            and aggregator is not None
        )
        self.aggregate_frames = on_frames
        self.embed = (
            None
            if on_frames
            else FrameEmbedding(in_channels, hidden_channels, norm, dropout)
        )
        self.attention = (
            FrameAttention(in_channels, attention_channels, attention_act)
            if use_attention
            else None
        )
        self.aggregator = build_aggregator(
            aggregator, in_channels if on_frames else hidden_channels
        )
        pooled = (
            self.aggregator.out_channels
            if self.aggregator is not None
            else hidden_channels
        )
        self.fc_cls = nn.Linear(pooled, num_classes)
        self.eps = eps

    def forward_with_weights(
        self, x: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``[B, N, D]`` -> (logits ``Y`` ``[B, C]``, frame weights ``A``
        ``[B, N]``), the attention computed once for both."""
        t = x if self.embed is None else self.embed(x)
        if self.aggregator is not None:
            weights = self.attention(x) if self.attention is not None else None
            pooled = self.aggregator(t, weights)
            if weights is None:
                weights = x.new_ones(x.shape[:2])
            return self.fc_cls(pooled), weights
        if self.attention is None:
            return self.fc_cls(t.mean(dim=1)), x.new_ones(x.shape[:2])
        weights = self.attention(x)
        return self.fc_cls(weighted_mean_pool(t, weights, self.eps)), weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, N, D]`` -> logits ``Y`` ``[B, C]``."""
        return self.forward_with_weights(x)[0]


class ComplementaryExpert(nn.Module):
    """Expert 2: complementary frame selection plus a motion branch.

    ``x_c = sum_n R_n T'_n / sum_n R_n`` with ``R = 1 / (A + beta)`` from
    expert 1's (frozen) frame weights, ``x_m = mean_n T''(X_M)_n``,
    ``Y_F = Linear_cls'(Linear_fuse([x_c; x_m]))``.

    Args:
        in_channels (int): ``D``.
        hidden_channels (int): ``H``.
        num_classes (int): ``C``.
        norm (str): Norm of both frame embeddings.
        dropout (float): Dropout of both frame embeddings.
        beta (float): CFS offset ``beta`` in ``(0, 1)``. Defaults to 0.5.
        cfs_norm (str): ``'none'`` (docs/method.md), ``'max'`` or ``'rank'``
            (see :func:`complementary_weights`).
        cfs_background_thr (float): Frames with ``A / max_n A`` below it get
            no weight (see :func:`complementary_weights`). Defaults to 0.
        aggregator (dict, optional): Frame aggregator config replacing the
            CFS weighted mean; it pools ``T'`` with ``R`` as frame weights.
        aggregate_motion (bool): With an aggregator, the motion branch
            pools ``T''(X_M)`` with its own instance of it (uniform
            weights) instead of the plain mean. Defaults to False.
        aggregator_input (str): ``'embedding'`` (default: the aggregator
            pools ``T'``) or ``'frames'`` (it pools ``X``; no ``T'``), as
            in :class:`AttentionExpert`. The motion branch is unchanged.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        num_classes: int,
        norm: str = 'LN',
        dropout: float = 0.0,
        beta: float = 0.5,
        cfs_norm: str = 'none',
        cfs_background_thr: float = 0.0,
        aggregator: Optional[dict] = None,
        aggregate_motion: bool = False,
        aggregator_input: str = 'embedding',
    ) -> None:
        super().__init__()
        on_frames = (
            check_aggregator_input(aggregator_input) == 'frames'
            and aggregator is not None
        )
        self.aggregate_frames = on_frames
        if cfs_norm not in CFS_NORMS:
            raise ValueError(
                f'cfs_norm={cfs_norm!r} is not one of {CFS_NORMS}'
            )
        if not 0.0 <= cfs_background_thr < 1.0:
            raise ValueError(
                'cfs_background_thr must be in [0, 1), got '
                f'{cfs_background_thr!r}'
            )
        self.cfs_norm = cfs_norm
        self.cfs_background_thr = float(cfs_background_thr)
        self.embed = (
            None
            if on_frames
            else FrameEmbedding(in_channels, hidden_channels, norm, dropout)
        )
        self.motion_embed = FrameEmbedding(
            in_channels, hidden_channels, norm, dropout
        )
        self.aggregator = build_aggregator(
            aggregator, in_channels if on_frames else hidden_channels
        )
        self.motion_aggregator = build_aggregator(
            aggregator if aggregate_motion else None, hidden_channels
        )
        width_c, width_m = (
            m.out_channels if m is not None else hidden_channels
            for m in (self.aggregator, self.motion_aggregator)
        )
        self.fuse = nn.Linear(width_c + width_m, hidden_channels)
        self.fc_cls = nn.Linear(hidden_channels, num_classes)
        self.beta = check_beta(beta)

    def forward(
        self, x: torch.Tensor, attention: torch.Tensor
    ) -> torch.Tensor:
        """Features ``[B, N, D]`` and expert 1's weights ``A`` ``[B, N]`` ->
        logits ``Y_F`` ``[B, C]``."""
        r = complementary_weights(
            attention,
            self.beta,
            self.cfs_norm,
            background_thr=self.cfs_background_thr,
        )
        if self.aggregator is not None:
            t = x if self.embed is None else self.embed(x)
            x_c = self.aggregator(t, r)
        else:
            x_c = weighted_mean_pool(self.embed(x), r)
        t_m = self.motion_embed(motion_features(x))
        if self.motion_aggregator is not None:
            x_m = self.motion_aggregator(t_m)
        else:
            x_m = t_m.mean(dim=1)
        return self.fc_cls(self.fuse(torch.cat([x_c, x_m], dim=-1)))
