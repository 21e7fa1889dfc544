"""NeXtVLAD frame aggregation (Lin et al., 2018)."""

import math
from typing import Optional

import torch
import torch.nn as nn
from mmaction.registry import MODELS

from .base_aggregator import (
    BaseAggregator,
    HiddenProjection,
    masked_batch_norm,
    normalise_vlad,
)

_ASSIGN_NORMS = (True, False, 'channels', 'frames')


@MODELS.register_module()
class NeXtVLAD(BaseAggregator):
    """NeXtVLAD: NetVLAD on ``G`` groups of an expanded frame feature, with
    an attention weight per group.

    For frames ``x_n`` (``[B, N, D]``) and frame weights ``w_n``:

    1. expansion ``x~_n = W_e x_n + b_e``, ``[B, N, lambda * D]``, split into
       ``G`` groups ``x~_ng`` of size ``D' = lambda * D / G``;
    2. group attention ``alpha_ng = sigmoid(W_g x~_n + b_g)`` (``G`` values
       per frame; 1 without ``group_attention``);
    3. soft assignment of each group to ``K`` clusters,
       ``a_ngk = softmax_k(BN(W_a x~_n))_gk`` with one BatchNorm1d over the
       ``G * K`` assignment channels (statistics over the frames, so any
       number of frames works);
    4. ``V_k = sum_n sum_g w_n alpha_ng a_ngk (x~_ng - c_k)``, ``[B, K, D']``;
    5. intra-normalisation, flatten, L2, then
       ``act(BN(Linear(K * D', hidden, bias=False)))``.

    The default sizes (expansion 2, 8 groups, 64 clusters, group attention,
    hidden 1024, ReLU6) are those of the CharadesLT / CharadesEgoLT runs
    (docs/method.md); the default layer is this project's form (steps 1-5
    above), which is neither of the two published ones:

    * MEID's released ``NeXtVLAD`` + ``NeXtVLADModel`` (abcdvzz/MEID,
      ``models/net_module.py``, ``models/models.py``; the Charades rows):
      ``input_norm=True`` (BatchNorm over ``D`` of every frame),
      ``assign_norm='frames'`` (``BatchNorm1d(num_frames)``: one channel per
      frame *position*, statistics over the batch and the ``G K``
      assignment logits; the clip length must equal ``num_frames``),
      ``assign_bias=True``, ``l2_norm=False, scalar_bn=True`` (a
      ``BatchNorm1d(1)`` over the whole flattened descriptor instead of
      the L2 normalisation); the configs of the Charades FrameStack rows use
      it;
    * linrongc's original (Lin et al.): BatchNorm over the ``G K``
      assignment channels, BatchNorm on the flattened descriptor, dropout
      0.5 before the projection, context gating after it (not part of this
      layer).

    The original's context gating after the projection is not part of this
    layer. Frame weights scale the soft assignment (as in
    :class:`NetVLAD`); weight 0 removes the frame exactly (with
    ``assign_norm='frames'`` or ``scalar_bn`` its statistics still include
    every frame).

    Size at ``D = 2048``: expansion 8.4 M, assignment 2.1 M, projection
    ``K * D' * hidden = 64 * 512 * 1024 = 33.6 M`` weights.

    Args:
        in_channels (int): Frame feature size ``D``.
        num_clusters (int): ``K``. Defaults to 64.
        expansion (int): ``lambda``. Defaults to 2.
        groups (int): ``G``; must divide ``lambda * D``. Defaults to 8.
        hidden_channels (int, optional): Projection size; None returns the
            normalised ``K * D'`` descriptor. Defaults to 1024.
        group_attention (bool): Sigmoid attention per group. Defaults to
            True.
        assign_norm (bool | str): ``True`` / ``'channels'``: BatchNorm over
            the ``G * K`` assignment logits (default); ``'frames'``: the
            release's BatchNorm over frame positions (needs
            ``num_frames``); ``False``: none.
        num_frames (int, optional): Clip length for
            ``assign_norm='frames'``. Defaults to None.
        assign_bias (bool, optional): Bias of the assignment projection;
            None (default): only without ``assign_norm``. The release: True.
        input_norm (bool): BatchNorm over ``D`` of the input frames (the
            release). Defaults to False.
        scalar_bn (bool): ``BatchNorm1d(1)`` over the flattened descriptor
            (the release, with ``l2_norm=False``). Defaults to False.
        intra_norm (bool): L2 of each cluster's aggregate. Defaults to True.
        l2_norm (bool): L2 of the flattened descriptor. Defaults to True.
        hidden_norm (bool): BatchNorm after the projection. Defaults to True.
        hidden_act (str): ``'relu6'`` (default), ``'relu'`` or ``'none'``.
        dropout (float): Dropout before the projection. Defaults to 0.

    Shapes: ``[B, N, D]`` (+ weights ``[B, N]``) -> ``[B, out_channels]``,
    ``out_channels = hidden_channels`` or ``K * D'``.
    """

    def __init__(
        self,
        in_channels: int,
        num_clusters: int = 64,
        expansion: int = 2,
        groups: int = 8,
        hidden_channels: Optional[int] = 1024,
        group_attention: bool = True,
        assign_norm: bool = True,
        intra_norm: bool = True,
        l2_norm: bool = True,
        hidden_norm: bool = True,
        hidden_act: str = 'relu6',
        dropout: float = 0.0,
        num_frames: Optional[int] = None,
        assign_bias: Optional[bool] = None,
        input_norm: bool = False,
        scalar_bn: bool = False,
    ) -> None:
        super().__init__(in_channels)
        k, lam, g = int(num_clusters), int(expansion), int(groups)
        if k < 1 or lam < 1 or g < 1:
            raise ValueError(
                'num_clusters, expansion and groups must be >= 1, got '
                f'{num_clusters}, {expansion}, {groups}'
            )
        expanded = lam * self.in_channels
        if expanded % g:
            raise ValueError(
                f'groups={g} must divide expansion * in_channels = '
                f'{lam} * {self.in_channels} = {expanded}'
            )
        if assign_norm not in _ASSIGN_NORMS:
            raise ValueError(
                f'assign_norm={assign_norm!r} is not one of {_ASSIGN_NORMS}'
            )
        if assign_norm == 'frames' and (
            not isinstance(num_frames, int) or num_frames < 1
        ):
            raise ValueError(
                "assign_norm='frames' needs num_frames (the clip length), "
                f'got num_frames={num_frames!r}'
            )
        assign_norm = 'channels' if assign_norm is True else assign_norm
        if assign_bias is None:
            assign_bias = not assign_norm
        self.num_frames = num_frames
        self.num_clusters, self.groups = k, g
        self.group_channels = expanded // g
        self.intra_norm, self.l2_norm = intra_norm, l2_norm
        self.expand = nn.Linear(self.in_channels, expanded)
        self.group_attention = (
            nn.Linear(expanded, g) if group_attention else None
        )
        self.input_norm = (
            nn.BatchNorm1d(self.in_channels) if input_norm else None
        )
        self.assign = nn.Linear(expanded, g * k, bias=bool(assign_bias))
        self.assign_norm_mode = assign_norm or None
        self.assign_norm = (
            nn.BatchNorm1d(g * k)
            if assign_norm == 'channels'
            else nn.BatchNorm1d(num_frames)
            if assign_norm == 'frames'
            else None
        )
        self.scalar_bn = nn.BatchNorm1d(1) if scalar_bn else None
        self.centers = nn.Parameter(
            torch.rand(k, self.group_channels) / math.sqrt(self.group_channels)
        )
        descriptor = k * self.group_channels
        if hidden_channels:
            self.proj = HiddenProjection(
                descriptor,
                int(hidden_channels),
                hidden_norm,
                hidden_act,
                dropout,
            )
            self.out_channels = int(hidden_channels)
        else:
            self.proj = None
            self.out_channels = descriptor

    def assignment(
        self, expanded: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """Weighted group assignment ``w_n alpha_ng a_ngk``: ``[B, N, G, K]``
        from expanded frames ``[B, N, lambda * D]``."""
        b, n, _ = expanded.shape
        logits = self.assign(expanded)
        if self.assign_norm_mode == 'frames':
            if n != self.num_frames:
                raise ValueError(
                    f"NeXtVLAD(assign_norm='frames') was built for "
                    f'num_frames={self.num_frames} frames, got {n}'
                )
            logits = self.assign_norm(logits)  # channels = frame positions
        elif self.assign_norm is not None:
            logits = masked_batch_norm(self.assign_norm, logits, weights)
        a = torch.softmax(logits.view(b, n, self.groups, -1), dim=-1)
        if self.group_attention is not None:
            alpha = torch.sigmoid(self.group_attention(expanded))
            a = a * alpha.unsqueeze(-1)
        if weights is not None:
            a = a * weights.view(b, n, 1, 1)
        return a

    def aggregate(
        self, x: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """``[B, N, D]`` (+ ``[B, N]``) -> ``[B, out_channels]``."""
        b, n, _ = x.shape
        if self.input_norm is not None:
            x = masked_batch_norm(self.input_norm, x, weights)
        expanded = self.expand(x)
        a = self.assignment(expanded, weights)
        grouped = expanded.view(b, n, self.groups, self.group_channels)
        vlad = torch.einsum('bngk,bngd->bkd', a, grouped)
        vlad = vlad - a.sum(dim=(1, 2)).unsqueeze(-1) * self.centers
        vlad = normalise_vlad(vlad, self.intra_norm, self.l2_norm)
        if self.scalar_bn is not None:
            vlad = self.scalar_bn(vlad.reshape(b, 1, -1)).reshape(b, -1)
        return vlad if self.proj is None else self.proj(vlad)
