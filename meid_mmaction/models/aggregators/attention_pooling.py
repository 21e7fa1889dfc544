"""Multi-head attention pooling of frames with a mean-frame query."""

import math
from typing import Optional

import torch
import torch.nn as nn
from mmaction.registry import MODELS

from .base_aggregator import BaseAggregator
from .mean_pooling import weighted_mean


@MODELS.register_module()
class AttentionPooling(BaseAggregator):
    """Multi-head attention pooling whose query is the (weighted) mean frame.

    For frames ``x_n`` (``[B, N, D]``) and frame weights ``w_n``:

    1. query frame ``q = sum_n w_n x_n / sum_n w_n``;
    2. per head ``h``: ``s_hn = (W_q^h q) . (W_k^h x_n) / sqrt(d_k)``,
       ``p_hn = w_n exp(s_hn) / sum_m w_m exp(s_hm)`` (a softmax over frames
       of ``s_hn + log w_n``), then ``AttnDropout(p_hn)``, ``o_h = sum_n
       p_hn W_v^h x_n``;
    3. ``y = LayerNorm(q + Dropout(W_o [o_1; ...; o_H]))``, ``[B, D]``.

    All ones weights give plain attention; weight 0 removes the frame
    exactly (it gets probability 0 and leaves the query). This is the
    attention half of MOVE's aggregator baseline (4 heads, mean-frame
    query); MOVE's exact layer (``MultiHeadAttention_Aggregator`` of
    wjun0830/MOVE) is ``attn_dropout=0.1, norm_eps=1e-6, bias=False``,
    which the configs of MOVE's rows set. Weights: ``D * H * (2 d_k +
    d_v)`` (query, key, value) plus ``H d_v * D`` (output), 16.8 M at ``D =
    2048`` and the defaults (without the biases when ``bias=False``).

    Args:
        in_channels (int): Frame feature size ``D``.
        num_heads (int): Heads ``H``. Defaults to 4.
        key_channels (int): ``d_k`` per head. Defaults to 512.
        value_channels (int): ``d_v`` per head. Defaults to 512.
        dropout (float): Dropout on the attention output (before the
            residual). Defaults to 0.1.
        residual (bool): Add the query frame before the LayerNorm. Defaults
            to True.
        attn_dropout (float): Dropout on the attention probabilities ``p_hn``
            (training only). Defaults to 0 (MOVE: 0.1).
        norm_eps (float): ``eps`` of the LayerNorm. Defaults to 1e-5
            (PyTorch's; MOVE: 1e-6).
        bias (bool): Biases of the query / key / value / output projections.
            Defaults to True (MOVE: False).

    Shapes: ``[B, N, D]`` (+ weights ``[B, N]``) -> ``[B, D]``
    (``out_channels = D``).
    """

    def __init__(
        self,
        in_channels: int,
        num_heads: int = 4,
        key_channels: int = 512,
        value_channels: int = 512,
        dropout: float = 0.1,
        residual: bool = True,
        attn_dropout: float = 0.0,
        norm_eps: float = 1e-5,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels)
        if num_heads < 1 or key_channels < 1 or value_channels < 1:
            raise ValueError(
                'num_heads, key_channels and value_channels must be >= 1, '
                f'got {num_heads}, {key_channels}, {value_channels}'
            )
        if not 0.0 <= attn_dropout < 1.0 or not 0.0 <= dropout < 1.0:
            raise ValueError(
                'dropout and attn_dropout must be in [0, 1), got '
                f'{dropout!r} and {attn_dropout!r}'
            )
        if not norm_eps > 0:
            raise ValueError(f'norm_eps must be > 0, got {norm_eps!r}')
        d = self.in_channels
        self.num_heads = num_heads
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.residual = residual
        self.query = nn.Linear(d, num_heads * key_channels, bias=bias)
        self.key = nn.Linear(d, num_heads * key_channels, bias=bias)
        self.value = nn.Linear(d, num_heads * value_channels, bias=bias)
        self.out = nn.Linear(num_heads * value_channels, d, bias=bias)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.attn_dropout = (
            nn.Dropout(attn_dropout) if attn_dropout > 0 else nn.Identity()
        )
        self.norm = nn.LayerNorm(d, eps=norm_eps)
        self.out_channels = d

    def attention(
        self, x: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """Attention probabilities over frames ``[B, H, N]``."""
        b, n, _ = x.shape
        q = self.query(weighted_mean(x, weights))
        q = q.view(b, self.num_heads, 1, self.key_channels)
        k = self.key(x).view(b, n, self.num_heads, self.key_channels)
        scores = (q * k.transpose(1, 2)).sum(-1)
        scores = scores / math.sqrt(self.key_channels)
        if weights is not None:
            # log w_n; -inf (probability 0, zero gradient) where w_n = 0
            tiny = torch.finfo(scores.dtype).tiny
            log_w = torch.log(weights.clamp(min=tiny))
            log_w = log_w.masked_fill(weights <= 0, float('-inf'))
            scores = scores + log_w.unsqueeze(1)
        return torch.softmax(scores, dim=-1)

    def aggregate(
        self, x: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """``[B, N, D]`` (+ ``[B, N]``) -> ``[B, D]``."""
        b, n, _ = x.shape
        p = self.attn_dropout(self.attention(x, weights))
        v = self.value(x).view(b, n, self.num_heads, self.value_channels)
        o = torch.einsum('bhn,bnhv->bhv', p, v).reshape(b, -1)
        y = self.dropout(self.out(o))
        if self.residual:
            y = y + weighted_mean(x, weights)
        return self.norm(y)
