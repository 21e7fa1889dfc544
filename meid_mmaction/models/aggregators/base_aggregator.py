"""Shared interface and helpers of the frame aggregators.

An aggregator maps per-frame features ``[B, N, D]`` and optional frame
weights ``[B, N]`` to one vector per video ``[B, out_channels]``. Frame
weights follow one contract for every aggregator:

* ``None`` or all ones: every frame counts equally;
* a weight of 0 removes the frame exactly (also from the batch statistics
  of the frame-level BatchNorm layers, see :func:`masked_batch_norm`);
* each video needs at least one frame with a positive weight.
"""

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

_ACTS = ('relu6', 'relu', 'none')


class BaseAggregator(nn.Module):
    """Base class of the frame aggregators (not registered).

    Subclasses set ``self.out_channels`` and implement :meth:`aggregate`;
    :meth:`forward` checks the shapes first.

    Args:
        in_channels (int): Frame feature size ``D``.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        if int(in_channels) < 1:
            raise ValueError(f'in_channels must be >= 1, got {in_channels}')
        self.in_channels = int(in_channels)
        self.out_channels = self.in_channels

    def check_inputs(
        self, x: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> None:
        """Raise a ValueError naming the expected shapes when ``x`` is not
        ``[B, N, D]`` or ``weights`` is not ``[B, N]``."""
        name = type(self).__name__
        if (
            not isinstance(x, torch.Tensor)
            or x.dim() != 3
            or x.shape[-1] != self.in_channels
        ):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else x
            raise ValueError(
                f'{name} expects frame features [B, N, {self.in_channels}] '
                f'(in_channels={self.in_channels}), got {shape}'
            )
        if weights is not None and (
            not isinstance(weights, torch.Tensor)
            or tuple(weights.shape) != tuple(x.shape[:2])
        ):
            shape = (
                tuple(weights.shape)
                if isinstance(weights, torch.Tensor)
                else weights
            )
            raise ValueError(
                f'{name} expects frame weights [B, N] = '
                f'{tuple(x.shape[:2])} for features {tuple(x.shape)}, '
                f'got {shape}'
            )

    def forward(
        self, x: torch.Tensor, weights: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Aggregate frames.

        Args:
            x (torch.Tensor): Frame features ``[B, N, D]``.
            weights (torch.Tensor, optional): Frame weights ``[B, N]``
                (``>= 0``); None means all ones.

        Returns:
            torch.Tensor: Video vectors ``[B, out_channels]``.
        """
        self.check_inputs(x, weights)
        return self.aggregate(x, weights)

    def aggregate(
        self, x: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """Subclass hook: ``[B, N, D]`` (+ ``[B, N]``) -> ``[B, H]``."""
        raise NotImplementedError


def masked_batch_norm(
    bn: nn.BatchNorm1d, x: torch.Tensor, weights: Optional[torch.Tensor]
) -> torch.Tensor:
    """BatchNorm over frames ``[B, N, C]`` whose training statistics use only
    the frames with a positive weight.

    In eval mode (or without weights) this is ``bn`` applied to every frame.
    In training mode the batch mean / variance, and the running statistics,
    are those ``bn`` would compute on the selected frames alone, so a frame
    of weight 0 cannot change any other frame's output. It is computed
    without a host synchronisation (no boolean indexing). The output of a
    removed frame is finite and is meant to be multiplied by its weight 0.

    Args:
        bn (nn.BatchNorm1d): The norm layer (``C`` features).
        x (torch.Tensor): ``[B, N, C]``.
        weights (torch.Tensor, optional): Frame weights ``[B, N]``.

    Returns:
        torch.Tensor: ``[B, N, C]``.
    """
    b, n, c = x.shape
    flat = x.reshape(b * n, c)
    if weights is None or not (bn.training or not bn.track_running_stats):
        return bn(flat).reshape(b, n, c)
    mask = (weights.reshape(b * n, 1) > 0).to(x.dtype)
    count = mask.sum()
    mean = (flat * mask).sum(0) / count
    var = ((flat - mean).square() * mask).sum(0) / count
    if bn.track_running_stats:
        with torch.no_grad():
            bn.num_batches_tracked.add_(1)
            if bn.momentum is None:
                momentum = 1.0 / bn.num_batches_tracked.to(x.dtype)
            else:
                momentum = bn.momentum
            unbiased = var * count / (count - 1).clamp(min=1)
            bn.running_mean.mul_(1 - momentum).add_(momentum * mean)
            bn.running_var.mul_(1 - momentum).add_(momentum * unbiased)
    out = (flat - mean) * torch.rsqrt(var + bn.eps)
    if bn.affine:
        out = out * bn.weight + bn.bias
    return out.reshape(b, n, c)


def build_activation(act: str) -> nn.Module:
    """``'relu6'``, ``'relu'`` or ``'none'`` -> module."""
    if act not in _ACTS:
        raise ValueError(
            f'act={act!r} is not supported; expected one of {_ACTS}'
        )
    if act == 'relu6':
        return nn.ReLU6()
    if act == 'relu':
        return nn.ReLU()
    return nn.Identity()


class HiddenProjection(nn.Module):
    """``act(BatchNorm1d(Linear(x, bias=False)))``: the VLAD layers'
    projection of the ``K * D'`` descriptor to ``hidden`` channels.

    Args:
        in_channels (int): Descriptor size.
        hidden_channels (int): Output size.
        norm (bool): BatchNorm1d over the batch after the linear map.
        act (str): ``'relu6'``, ``'relu'`` or ``'none'``.
        dropout (float): Dropout before the linear map.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        norm: bool = True,
        act: str = 'relu6',
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, hidden_channels, bias=False)
        self.norm = nn.BatchNorm1d(hidden_channels) if norm else nn.Identity()
        self.act = build_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, in_channels]`` -> ``[B, hidden_channels]``."""
        return self.act(self.norm(self.fc(self.dropout(x))))


def normalise_vlad(
    vlad: torch.Tensor, intra_norm: bool, l2_norm: bool
) -> torch.Tensor:
    """Intra-normalisation (L2 over each cluster's row) and/or L2 of the
    flattened descriptor: ``[B, K, D']`` -> ``[B, K * D']``."""
    if intra_norm:
        vlad = F.normalize(vlad, p=2, dim=2)
    vlad = vlad.flatten(1)
    if l2_norm:
        vlad = F.normalize(vlad, p=2, dim=1)
    return vlad
