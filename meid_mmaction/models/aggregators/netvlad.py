"""NetVLAD frame aggregation (Arandjelovic et al., 2016)."""

import math
from typing import Optional

import torch
import torch.nn as nn
from mmaction.registry import MODELS

from ..heads.meid_modules import weighted_mean_pool
from .base_aggregator import (
    BaseAggregator,
    HiddenProjection,
    masked_batch_norm,
    normalise_vlad,
)

#: Where :class:`NetVLAD` applies the frame weights.
WEIGHT_MODES = ('assignment', 'features')


@MODELS.register_module()
class NetVLAD(BaseAggregator):
    """NetVLAD: soft assignment of frames to ``K`` clusters and the sum of
    their (residual) features per cluster.

    For frames ``x_n`` (``[B, N, D]``) and frame weights ``w_n``:

    1. optional input BatchNorm over ``D`` (``input_norm``);
    2. soft assignment ``a_nk = softmax_k(BN(W_a x_n + b_a))`` (BatchNorm over
       ``K`` with ``assign_norm``; bias with ``assign_bias``), then scaled by
       the frame weight: ``a_nk <- w_n a_nk``;
    3. aggregation ``V_k = sum_n a_nk (x_n - c_k)`` with learned centres
       ``c_k`` (``subtract_centers=True``, the paper), or ``sum_n a_nk x_n``
       (``False``);
    4. optional gate ``V <- V * sigmoid(G)`` with a learned ``G`` of shape
       ``[K, D]`` (``gate``);
    5. intra-normalisation (L2 of each ``V_k``), flatten, L2 of the whole
       ``K * D`` vector;
    6. optional projection ``act(BN(Linear(K * D, hidden, bias=False)))``.

    Defaults follow the paper (centres, bias, no gate, no input norm) plus
    the hidden projection. VideoLT's released "NetVLAD" baseline is
    ``input_norm=True, assign_norm=True, assign_bias=False,
    subtract_centers=False, gate=True`` (docs/method.md).

    Frame weights (MEID's decision, docs/method.md): a weight scales its
    frame's soft assignment; weight 0 removes the frame exactly, also from
    the training statistics of the two frame-level BatchNorms. With
    ``weight_mode='features'`` the weight scales the (input-normalised)
    frame instead, before the assignment: ``x_n <- w_n x_n``, so it also
    changes the frame's assignment logits (MOVE zeroes the frames it drops
    before its NetVLAD this way); a frame of weight 0 then gets no
    assignment either (``a_nk <- a_nk [w_n > 0]``), so it is removed
    exactly as well.

    ``mean_branch=True`` (ours, issue 16) runs the normalised weighted mean
    of the input frames beside the VLAD layer, as MOVE runs attention
    pooling beside its NetVLAD: the output is ``[sum_n w_n x_n / sum_n w_n;
    VLAD]`` (the mean first), of width ``D + hidden`` (``D + K * D``
    without the projection). Inside ``MEIDHead`` the mean branch is
    exactly the expert's pooling without an aggregator.

    Size: the projection has ``K * D * hidden`` weights, e.g. 134 M for
    ``K = 64, D = 2048, hidden = 1024`` (537 MB in float32, three times that
    with Adam's moments); the ``[B, K, D]`` aggregate is 64 MB at ``B = 128``.

    Args:
        in_channels (int): Frame feature size ``D``.
        num_clusters (int): ``K``. Defaults to 64.
        hidden_channels (int, optional): Projection size; None returns the
            normalised ``K * D`` descriptor. Defaults to 1024.
        subtract_centers (bool): Residuals to learned centres. Defaults to
            True.
        gate (bool): Learned sigmoid gate on the ``K x D`` aggregate.
            Defaults to False.
        input_norm (bool): BatchNorm over ``D`` on the input frames.
            Defaults to False.
        assign_norm (bool): BatchNorm over ``K`` on the assignment logits.
            Defaults to False.
        assign_bias (bool): Bias of the assignment layer. Defaults to True.
        intra_norm (bool): L2-normalise each cluster's aggregate. Defaults to
            True.
        l2_norm (bool): L2-normalise the flattened descriptor. Defaults to
            True.
        hidden_norm (bool): BatchNorm after the projection. Defaults to True.
        hidden_act (str): ``'relu6'`` (default), ``'relu'`` or ``'none'``.
        dropout (float): Dropout before the projection. Defaults to 0.
        weight_mode (str): Where the frame weights enter: ``'assignment'``
            (default, ``a_nk <- w_n a_nk``) or ``'features'`` (``x_n <-
            w_n x_n`` before the assignment), see above.
        mean_branch (bool): Concatenate the weighted mean of the input
            frames before the descriptor (see above). Defaults to False.

    Shapes: ``[B, N, D]`` (+ weights ``[B, N]``) -> ``[B, out_channels]``,
    ``out_channels = hidden_channels`` or ``K * D``, plus ``D`` with
    ``mean_branch``.
    """

    def __init__(
        self,
        in_channels: int,
        num_clusters: int = 64,
        hidden_channels: Optional[int] = 1024,
        subtract_centers: bool = True,
        gate: bool = False,
        input_norm: bool = False,
        assign_norm: bool = False,
        assign_bias: bool = True,
        intra_norm: bool = True,
        l2_norm: bool = True,
        hidden_norm: bool = True,
        hidden_act: str = 'relu6',
        dropout: float = 0.0,
        weight_mode: str = 'assignment',
        mean_branch: bool = False,
    ) -> None:
        super().__init__(in_channels)
        if int(num_clusters) < 1:
            raise ValueError(f'num_clusters must be >= 1, got {num_clusters}')
        if weight_mode not in WEIGHT_MODES:
            raise ValueError(
                f'weight_mode={weight_mode!r} is not supported; '
                f'expected one of {WEIGHT_MODES}'
            )
        self.weight_mode = weight_mode
        self.mean_branch = bool(mean_branch)
        d, k = self.in_channels, int(num_clusters)
        self.num_clusters = k
        self.subtract_centers = subtract_centers
        self.intra_norm = intra_norm
        self.l2_norm = l2_norm
        self.input_norm = nn.BatchNorm1d(d) if input_norm else None
        self.assign = nn.Linear(d, k, bias=assign_bias)
        self.assign_norm = nn.BatchNorm1d(k) if assign_norm else None
        self.centers = (
            nn.Parameter(torch.rand(k, d) / math.sqrt(d))
            if subtract_centers
            else None
        )
        self.gate = (
            nn.Parameter(nn.init.xavier_normal_(torch.empty(k, d)))
            if gate
            else None
        )
        if hidden_channels:
            self.proj = HiddenProjection(
                k * d, int(hidden_channels), hidden_norm, hidden_act, dropout
            )
            self.out_channels = int(hidden_channels)
        else:
            self.proj = None
            self.out_channels = k * d
        if self.mean_branch:
            self.out_channels += d

    def assignment(
        self, x: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """Soft assignment scaled by the frame weights: ``[B, N, K]``."""
        logits = self.assign(x)
        if self.assign_norm is not None:
            logits = masked_batch_norm(self.assign_norm, logits, weights)
        a = torch.softmax(logits, dim=-1)
        if weights is None:
            return a
        if self.weight_mode == 'features':
            # the weight already scaled x; a removed frame keeps no mass
            return a * (weights > 0).unsqueeze(-1).to(a.dtype)
        return a * weights.unsqueeze(-1)

    def aggregate(
        self, x: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """``[B, N, D]`` (+ ``[B, N]``) -> ``[B, out_channels]``."""
        mean = None
        if self.mean_branch:
            mean = (
                x.mean(dim=1)
                if weights is None
                else weighted_mean_pool(x, weights)
            )
        if self.input_norm is not None:
            x = masked_batch_norm(self.input_norm, x, weights)
        if weights is not None and self.weight_mode == 'features':
            x = x * weights.unsqueeze(-1)
        a = self.assignment(x, weights)
        vlad = torch.einsum('bnk,bnd->bkd', a, x)
        if self.centers is not None:
            vlad = vlad - a.sum(dim=1).unsqueeze(-1) * self.centers
        if self.gate is not None:
            vlad = vlad * torch.sigmoid(self.gate)
        vlad = normalise_vlad(vlad, self.intra_norm, self.l2_norm)
        out = vlad if self.proj is None else self.proj(vlad)
        return out if mean is None else torch.cat([mean, out], dim=-1)
