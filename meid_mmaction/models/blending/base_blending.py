"""Base of the multi-label batch augmentations (mixup, FrameStack)."""

from typing import Optional, Tuple

import numpy as np
import torch
from mmaction.utils import SampleList

from ...datasets.feature_batch import FeatureBatchSamples
from ...datasets.label_mask import has_drawn_classes
from ...utils.compat import get_gt_label, set_gt_label, to_multi_hot
from ...utils.rng import StepCounter, step_rng
from ...utils.transfer import to_device


class MultiLabelBlending(StepCounter):
    """A batch augmentation applied by ``ActionDataPreprocessor(blending=)``.

    MMAction2's data preprocessor calls ``blending(inputs, data_samples)``
    on training batches only. This base reads the multi-hot targets ``[B,
    C]`` of the data samples (any label format, through
    :mod:`meid_mmaction.utils.compat`), calls :meth:`blend` and writes the
    mixed (soft) targets back. It is an ``nn.Module`` inside the model, so
    its buffers (the step counter, FrameStack's AP) are saved in
    checkpoints. Random draws come from a generator seeded with ``(seed,
    rank, step)`` (:func:`~meid_mmaction.utils.rng.step_rng`), so training
    is deterministic for a seed and ``--resume`` continues exactly.

    Args:
        num_classes (int): Number of classes ``C``.
        seed (int): Seed of the draws. Defaults to 0.
    """

    def __init__(self, num_classes: int, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f'num_classes must be a positive int, got {num_classes!r}'
            )
        if not isinstance(seed, int):
            raise ValueError(f'seed must be an int, got {seed!r}')
        self.num_classes = num_classes
        self.seed = seed
        self.init_step_counter()

    def next_rng(self) -> np.random.Generator:
        """The generator of this step; advances the step counter (its host
        copy is read: no device synchronisation)."""
        return step_rng(self.seed, self.next_step())

    def blend(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        rng: np.random.Generator,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch: inputs ``[B, ...]``, targets ``[B, C]``."""
        raise NotImplementedError

    def forward(
        self, inputs: torch.Tensor, data_samples: SampleList, **kwargs
    ) -> Tuple[torch.Tensor, SampleList]:
        """Blend a training batch.

        Args:
            inputs (torch.Tensor): ``[B, V, N, D]`` or ``[B, N, D]``.
            data_samples (list[ActionDataSample]): With multi-hot labels.

        Returns:
            tuple: The blended inputs and the data samples with soft
            targets ``[C]``.
        """
        if isinstance(data_samples, FeatureBatchSamples):
            return self._blend_batch(inputs, data_samples)
        if len(data_samples) != inputs.shape[0]:
            raise ValueError(
                f'{len(data_samples)} data samples for '
                f'{inputs.shape[0]} inputs'
            )
        if has_drawn_classes(data_samples):
            raise ValueError(self._mask_error())
        targets = to_device(
            torch.stack(
                [
                    to_multi_hot(get_gt_label(ds), self.num_classes)
                    for ds in data_samples
                ]
            ),
            inputs.device,
        )
        inputs, targets = self.blend(inputs, targets, self.next_rng())
        for ds, target in zip(data_samples, targets):
            set_gt_label(ds, target)
        return inputs, data_samples

    def _blend_batch(
        self, inputs: torch.Tensor, samples: FeatureBatchSamples
    ) -> Tuple[torch.Tensor, FeatureBatchSamples]:
        """:meth:`forward` of a ``feature_collate`` batch: its label tensor
        is blended and replaced, without a per-video step."""
        if samples.labels.shape != (inputs.shape[0], self.num_classes):
            raise ValueError(
                f'labels {tuple(samples.labels.shape)} of a batch of '
                f'{inputs.shape[0]} do not match num_classes='
                f'{self.num_classes}'
            )
        if has_drawn_classes(samples):
            raise ValueError(self._mask_error())
        targets = to_device(samples.labels.float(), inputs.device)
        inputs, targets = self.blend(inputs, targets, self.next_rng())
        return inputs, samples.replace(labels=targets)

    def _mask_error(self) -> str:
        return (
            f'{type(self).__name__} mixes targets, which the label mask '
            'of resampling (sampler label_mask=True) cannot follow; use '
            'one or the other'
        )

    def extra_repr(self) -> str:
        """Shown in ``print(model)``."""
        return f'num_classes={self.num_classes}, seed={self.seed}'


def endpoint_frame_indices(num_frames: int, count: int) -> np.ndarray:
    """``count`` uniformly spaced integer frame indices in ``[0, N)``.

    ``floor(linspace(0, N - 1, count))`` (VideoLT's FrameStack): the first
    and last frames are always taken. This differs on purpose from
    :func:`~meid_mmaction.datasets.transforms.sampling.uniform_frame_indices`
    (segment centres, the test-time sampling), to match FrameStack exactly.

    Args:
        num_frames (int): ``N``.
        count (int): How many indices (0 gives none).

    Returns:
        np.ndarray: int64 ``[count]``, non-decreasing.
    """
    return np.floor(np.linspace(0, num_frames - 1, count)).astype(np.int64)


def endpoint_frame_positions(
    num_frames: int, position: torch.Tensor, count: torch.Tensor
) -> torch.Tensor:
    """Element ``position`` of :func:`endpoint_frame_indices` ``(N,
    count)``, elementwise on tensors (any device, no host transfer).

    numpy's ``linspace(0, N - 1, count)`` is ``i * ((N - 1) / (count - 1))``
    in float64 with the last element set to ``N - 1`` exactly (and ``[0]``
    for ``count = 1``); the same float64 operations are done here, so the
    floors are bit-identical to :func:`endpoint_frame_indices`.

    Args:
        num_frames (int): ``N``.
        position (torch.Tensor): long, positions ``i`` (broadcast with
            ``count``); values outside ``[0, count)`` give meaningless
            (unused) results.
        count (torch.Tensor): long, the length of each row's sequence.

    Returns:
        torch.Tensor: long frame indices, the broadcast shape.
    """
    # a tensor / tensor division (``scalar / tensor`` is computed as
    # ``scalar * reciprocal(tensor)``, which rounds differently from numpy)
    delta = torch.full(
        count.shape,
        float(num_frames - 1),
        dtype=torch.float64,
        device=count.device,
    )
    step = delta / (count.double() - 1).clamp(min=1)
    value = torch.floor(position.double() * step).long()
    last = (position == count - 1) & (count > 1)
    return torch.where(last, num_frames - 1, value)


def check_prob(name: str, value: Optional[float]) -> float:
    """``value`` as a float in ``[0, 1]``, else a ValueError naming it."""
    if value is None or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f'{name} must be in [0, 1], got {value!r}')
    return float(value)
