"""Data preprocessor for feature inputs that keeps batched reads zero-copy."""

from collections.abc import Mapping
from typing import List, Optional, Sequence

import torch
from mmaction.models.data_preprocessors import ActionDataPreprocessor
from mmaction.registry import MODELS

from ...datasets.feature_batch import FeatureBatchSamples
from ...utils.compat import get_gt_label, set_gt_label
from ...utils.transfer import to_device


def batch_of_views(inputs) -> Optional[torch.Tensor]:
    """The ``[B, ...]`` tensor whose rows are ``inputs``, without a copy.

    Returns a view of the storage shared by ``inputs`` when they are ``B``
    contiguous tensors of one shape, dtype and device lying one after the
    other in that storage (the per-sample views that
    ``MultiLabelFeatureDataset`` returns for a batched read or a feature
    bank); None otherwise. Its values equal ``torch.stack(inputs)``.

    Args:
        inputs (Sequence[torch.Tensor]): Per-sample tensors.
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        return None
    first = inputs[0]
    if not isinstance(first, torch.Tensor) or not first.is_contiguous():
        return None
    numel, offset = first.numel(), first.storage_offset()
    ptr = first.untyped_storage().data_ptr()
    for i, t in enumerate(inputs):
        if (
            not isinstance(t, torch.Tensor)
            or t.shape != first.shape
            or t.dtype != first.dtype
            or t.device != first.device
            or not t.is_contiguous()
            or t.untyped_storage().data_ptr() != ptr
            or t.storage_offset() != offset + i * numel
        ):
            return None
    return first.as_strided(
        (len(inputs), *first.shape), (numel, *first.stride()), offset
    )


def stack_equal_shapes(inputs) -> Optional[torch.Tensor]:
    """``torch.stack(inputs)`` when ``inputs`` are tensors of one shape,
    dtype and device (what mmengine's ``stack_batch`` returns for them,
    without its padding arithmetic on a shape tensor); None otherwise.

    Args:
        inputs (Sequence[torch.Tensor]): Per-sample tensors.
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        return None
    first = inputs[0]
    if not isinstance(first, torch.Tensor) or not all(
        isinstance(t, torch.Tensor)
        and t.shape == first.shape
        and t.dtype == first.dtype
        and t.device == first.device
        for t in inputs
    ):
        return None
    return torch.stack(list(inputs))


@MODELS.register_module()
class FeatureDataPreprocessor(ActionDataPreprocessor):
    """``ActionDataPreprocessor`` that skips the stacking copy when the
    samples of a batch are already views of one batch tensor.

    Batched reads and the feature bank (``MultiLabelFeatureDataset``
    ``batch_read`` / ``feature_bank``) return per-sample views of one
    ``[B, V, N, D]`` tensor, in the stored dtype (float16 for a float16
    bank). Here they are taken as that tensor (:func:`batch_of_views`),
    moved to the model's device in one copy and cast to float32
    (``to_float32``), instead of being copied once per sample and stacked.
    A batch from ``feature_collate`` (inputs already one tensor, data
    samples a ``FeatureBatchSamples``) is taken as it is: its label and
    drawn-class tensors are moved in one copy each, and no per-video object
    is made. Separate per-sample tensors of one shape are stacked on their
    device first (:func:`stack_equal_shapes`) and likewise moved in one
    copy. The result equals ``ActionDataPreprocessor``'s. Anything else
    (inputs of several shapes, normalisation, ``to_rgb``) goes through
    ``ActionDataPreprocessor`` unchanged.

    The data samples' ground-truth labels (multi-hot ``[C]``, one per
    sample) are likewise moved in one copy (:meth:`cast_samples`) instead
    of one synchronous host-to-device copy per sample, which cost about
    5 ms of a 16 ms MEID step at batch 128 on an H200 (docs/benchmarks.md,
    "GPU").

    Args: as ``ActionDataPreprocessor``.
    """

    def cast_data(self, data):
        """``BaseDataPreprocessor.cast_data``, with the ``data_samples`` of
        a batch dict moved by :meth:`cast_samples`."""
        samples = (
            data.get('data_samples') if isinstance(data, Mapping) else None
        )
        if isinstance(data, FeatureBatchSamples):
            return data.to(self.device)
        if not isinstance(samples, (list, FeatureBatchSamples)):
            return super().cast_data(data)
        cast = super().cast_data
        out = {}
        for key, value in data.items():
            if key == 'data_samples':
                out[key] = self.cast_samples(value)
            else:
                out[key] = cast(value)
        return out

    def cast_samples(self, samples: list) -> List:
        """Data samples on the model's device, their labels moved together.

        When every sample has a ground-truth label tensor of one shape and
        dtype, on another device than the model's, the labels are stacked
        on their device and moved in one copy; each returned sample is a
        new sample (the inputs are left as they are) whose label is its row
        of that batch tensor ``[B, C]``, its other fields moved by
        ``BaseDataElement.to``. Otherwise each sample is moved on its own,
        as ``BaseDataPreprocessor.cast_data`` does.

        A :class:`FeatureBatchSamples` (``feature_collate``) moves its label
        and drawn-class tensors, one copy each, and stays one object.

        Args:
            samples (list[ActionDataSample] | FeatureBatchSamples): The
                batch's data samples.
        """
        if isinstance(samples, FeatureBatchSamples):
            return samples.to(self.device)
        try:
            labels = [get_gt_label(ds) for ds in samples]
        except (KeyError, TypeError, AttributeError):
            return super().cast_data(samples)
        first = labels[0] if labels else None
        if (
            not isinstance(first, torch.Tensor)
            or first.device == self.device
            or not all(
                isinstance(t, torch.Tensor)
                and t.shape == first.shape
                and t.dtype == first.dtype
                and t.device == first.device
                for t in labels
            )
        ):
            return super().cast_data(samples)
        rows = to_device(torch.stack(labels), self.device)
        out = []
        for ds, row in zip(samples, rows.unbind(0)):
            moved = set_gt_label(ds.new(), row)
            out.append(moved.to(self.device, non_blocking=self._non_blocking))
        return out

    def forward(self, data, training: bool = False):
        """Batch, move, cast (and blend when training) ``data``."""
        batch = None
        if (
            isinstance(data, dict)
            and not self._enable_normalize
            and not self.to_rgb
        ):
            inputs = data.get('inputs')
            batch = (
                inputs
                if isinstance(inputs, torch.Tensor)
                else batch_of_views(inputs)
            )
            if batch is None:
                batch = stack_equal_shapes(data.get('inputs'))
        if batch is None:
            return super().forward(data, training=training)
        out = self.cast_data({k: v for k, v in data.items() if k != 'inputs'})
        inputs = self.cast_data(batch)
        if self.to_float32:
            inputs = inputs.to(torch.float32)
        data_samples: Sequence = out.get('data_samples')
        if training and self.blending is not None:
            inputs, data_samples = self.blending(inputs, data_samples)
        out.update(inputs=inputs, data_samples=data_samples)
        return out
