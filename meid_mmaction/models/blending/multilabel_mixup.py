"""Mixup of features and multi-hot targets."""

from typing import Tuple

import numpy as np
import torch
from mmaction.registry import MODELS

from ...utils.transfer import to_device
from .base_blending import MultiLabelBlending


@MODELS.register_module()
class MultiLabelMixup(MultiLabelBlending):
    """Mixup for multi-label batches (VideoLT's baseline).

    ``lambda ~ Beta(alpha, alpha)`` once per batch and a random permutation
    ``pi`` of the batch: ``x_i <- lambda x_i + (1 - lambda) x_pi(i)`` and
    ``y_i <- lambda y_i + (1 - lambda) y_pi(i)`` (multi-hot targets mixed
    alike). Use as ``data_preprocessor=dict(type='ActionDataPreprocessor',
    blending=dict(type='MultiLabelMixup', num_classes=C))``.

    Args:
        num_classes (int): Number of classes ``C``.
        alpha (float): Beta parameter (> 0). Defaults to 1.0 (VideoLT:
            ``Beta(1, 1)``, i.e. uniform).
        seed (int): Seed of the draws. Defaults to 0.
    """

    def __init__(
        self, num_classes: int, alpha: float = 1.0, seed: int = 0
    ) -> None:
        super().__init__(num_classes, seed)
        if not alpha > 0:
            raise ValueError(f'alpha must be > 0, got {alpha!r}')
        self.alpha = float(alpha)
        self.last_lambda = None

    def blend(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        rng: np.random.Generator,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mix inputs ``[B, ...]`` and targets ``[B, C]`` with a partner."""
        lam = float(rng.beta(self.alpha, self.alpha))
        perm = to_device(
            torch.from_numpy(rng.permutation(inputs.shape[0])), inputs.device
        )
        self.last_lambda = lam
        mixed = lam * inputs + (1 - lam) * inputs[perm]
        return mixed, lam * targets + (1 - lam) * targets[perm]
