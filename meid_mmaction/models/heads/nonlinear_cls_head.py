"""VideoLT's nonlinear classifier on per-frame features."""

import torch
import torch.nn as nn
from mmaction.registry import MODELS

from .base_multilabel_head import BaseMultiLabelHead


@MODELS.register_module()
class NonlinearClsHead(BaseMultiLabelHead):
    """Per-frame ``Linear(D, H) -> ReLU -> Dropout -> Linear(H, C)``, logits
    averaged over frames (the VideoLT baseline classifier).

    Args:
        num_classes (int): Number of classes ``C``.
        in_channels (int): Feature size ``D``.
        hidden_channels (int, optional): ``H``; defaults to ``D``.
        dropout_ratio (float): Dropout after the ReLU. Defaults to 0.5.
        loss_cls (dict): Loss config. Defaults to ``MultiLabelFocalLoss``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        hidden_channels: int = None,
        dropout_ratio: float = 0.5,
        loss_cls: dict = dict(type='MultiLabelFocalLoss'),  # noqa: B006
        init_cfg=dict(type='Normal', layer='Linear', std=0.01),  # noqa: B006
        **kwargs,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls,
            init_cfg=init_cfg,
            **kwargs,
        )
        hidden = hidden_channels or in_channels
        self.fc1 = nn.Linear(in_channels, hidden)
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Per-frame features ``[B, N, D]`` (or one vector ``[B, D]``) to
        logits ``[B, C]``."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(
                f'NonlinearClsHead expects [B, N, {self.in_channels}] '
                f'features, got {tuple(x.shape)}'
            )
        logits = self.fc2(self.dropout(torch.relu(self.fc1(x))))
        return logits.mean(dim=1)
