"""(Weighted) mean pooling of frames, the aggregator interface of MEID's
default pooling."""

from typing import Optional

import torch
from mmaction.registry import MODELS

from ..heads.meid_modules import weighted_mean_pool
from .base_aggregator import BaseAggregator


def weighted_mean(
    x: torch.Tensor, weights: Optional[torch.Tensor] = None, eps: float = 0.0
) -> torch.Tensor:
    """``mean_n x_n`` (``weights=None``) or ``sum_n w_n x_n / (sum_n w_n +
    eps)``: ``[B, N, D]`` (+ ``[B, N]``) -> ``[B, D]``."""
    if weights is None:
        return x.mean(dim=1)
    return weighted_mean_pool(x, weights, eps)


@MODELS.register_module()
class MeanPooling(BaseAggregator):
    """Normalised weighted mean of the frames,
    ``y = sum_n w_n x_n / (sum_n w_n + eps)``; the plain mean without
    weights. No parameters.

    This is the pooling ``MEIDHead`` uses when ``aggregator=None``; as an
    aggregator it gives :class:`AggregatorClsHead` a mean-pooling baseline.

    Args:
        in_channels (int): Frame feature size ``D``.
        eps (float): Added to the weight sum. Defaults to 0.

    Shapes: ``[B, N, D]`` (+ weights ``[B, N]``) -> ``[B, D]``.
    """

    def __init__(self, in_channels: int, eps: float = 0.0) -> None:
        super().__init__(in_channels)
        self.eps = eps

    def aggregate(
        self, x: torch.Tensor, weights: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """``[B, N, D]`` (+ ``[B, N]``) -> ``[B, D]``."""
        return weighted_mean(x, weights, self.eps)
