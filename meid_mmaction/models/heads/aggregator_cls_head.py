"""A classifier on one or several learnable frame aggregators."""

from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmaction.registry import MODELS

from .base_multilabel_head import BaseMultiLabelHead


@MODELS.register_module()
class AggregatorClsHead(BaseMultiLabelHead):
    """Frame aggregators, concatenated, then a (nonlinear) classifier.

    ``v = [agg_1(X); ...; agg_m(X)]``, ``[B, sum_i H_i]``, then either
    ``Linear(Dropout(v))`` or, with ``mlp_channels``, VideoLT's nonlinear
    classifier on the video vector:
    ``Linear(Dropout(ReLU(Linear(v))))``. The aggregator baselines of the
    paper tables (FrameStack + NetVLAD, NeXtVLAD on Charades) and MOVE's
    aggregator baseline (NetVLAD-style + attention pooling, concatenated,
    then the nonlinear classifier) are configs of this head.

    Args:
        num_classes (int): Number of classes ``C``.
        in_channels (int): Frame feature size ``D`` (filled into every
            aggregator config).
        aggregators (dict | list[dict]): Aggregator config(s), e.g.
            ``dict(type='NetVLAD')``; see
            ``meid_mmaction.models.aggregators``.
        mlp_channels (int, optional): Hidden size of the nonlinear
            classifier; None: one linear layer. Defaults to None.
        dropout_ratio (float): Dropout before the last linear layer.
            Defaults to 0.5.
        loss_cls (dict, optional): Classification loss; None:
            ``MultiLabelFocalLoss`` (``alpha = gamma = 1``). Any loss with
            the ``loss(logits, targets)`` interface works, e.g.
            ``dict(type='MultiLabelFocalLoss', gamma=0.0)`` (BCE).
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (PyTorch's default initialisation).

    Shapes: ``[B * V, N, D]`` features (or ``[B * V, D]``, one frame) ->
    logits ``[B * V, C]``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        aggregators: Union[dict, Sequence[dict]],
        mlp_channels: Optional[int] = None,
        dropout_ratio: float = 0.5,
        loss_cls: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
        **kwargs,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls or dict(type='MultiLabelFocalLoss'),
            init_cfg=init_cfg,
            **kwargs,
        )
        cfgs = (
            [aggregators]
            if isinstance(aggregators, dict)
            else list(aggregators)
        )
        if not cfgs or not all(isinstance(c, dict) for c in cfgs):
            raise ValueError(
                'AggregatorClsHead expects aggregators as a dict or a '
                f'non-empty list of dicts, got {aggregators!r}'
            )
        self.aggregators = nn.ModuleList(
            MODELS.build(c, default_args=dict(in_channels=in_channels))
            for c in cfgs
        )
        for cfg, agg in zip(cfgs, self.aggregators):
            if agg.in_channels != in_channels:
                raise ValueError(
                    f'aggregator {cfg.get("type")!r} has in_channels='
                    f'{agg.in_channels}; the head gets {in_channels}-d '
                    'frames (leave in_channels out of aggregator configs)'
                )
        width = sum(agg.out_channels for agg in self.aggregators)
        self.video_channels = width
        layers: List[nn.Module] = []
        if mlp_channels:
            layers += [nn.Linear(width, mlp_channels), nn.ReLU()]
            width = mlp_channels
        if dropout_ratio > 0:
            layers.append(nn.Dropout(dropout_ratio))
        layers.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*layers)

    def pool(
        self, x: torch.Tensor, weights: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Concatenated video vectors ``[B, sum_i H_i]`` from frames
        ``[B, N, D]`` (optional frame weights ``[B, N]``)."""
        return torch.cat([agg(x, weights) for agg in self.aggregators], dim=-1)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Frame features ``[B, N, D]`` (or ``[B, D]``) -> logits
        ``[B, C]``."""
        if isinstance(x, torch.Tensor) and x.dim() == 2:
            x = x.unsqueeze(1)
        if (
            not isinstance(x, torch.Tensor)
            or x.dim() != 3
            or x.shape[-1] != self.in_channels
        ):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else x
            raise ValueError(
                f'AggregatorClsHead expects [B, N, {self.in_channels}] '
                f'features, got {shape}'
            )
        return self.classifier(self.pool(x))
