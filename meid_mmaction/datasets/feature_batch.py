"""A batch of feature clips with its labels as one tensor.

The batched reads and the feature bank (:mod:`.batched_reading`) return a
:class:`FeatureBatch`: the inputs ``[B, V, N, D]``, one label tensor ``[B,
C]``, the drawn classes of label-masked sampling ``[B]`` and the metainfo as
columns. Nothing per video is built until something asks for it: with
``feature_collate`` (:mod:`.feature_collate`) a training step goes from the
dataset to the loss with a constant amount of Python per batch
(``FeatureDataPreprocessor``, the blendings and the heads read
:attr:`FeatureBatchSamples.labels` / :attr:`~FeatureBatchSamples.drawn`).
Both classes are also sequences of what the per-sample pipeline gives (a
``dict(inputs, data_samples)`` per video, an ``ActionDataSample`` per
video), made on first access with the same values, so ``pseudo_collate``
and any code that iterates over data samples work unchanged.
"""

import operator
from collections.abc import Sequence
from typing import Dict, Optional

import numpy as np
import torch
from mmaction.structures import ActionDataSample

from ..utils.compat import set_gt_label
from ..utils.transfer import to_device
from .label_mask import set_drawn_class

#: Marks a column entry whose video has no value for the key (the key is
#: then left out of that sample's metainfo). A string: survives pickling.
MISSING = '<meid_mmaction: missing>'


class FeatureBatchSamples(Sequence):
    """The data samples of one batch, as columns.

    Args:
        labels (torch.Tensor): ``[B, C]`` float multi-hot (or, after a
            blending, soft) targets.
        drawn (torch.Tensor, optional): ``[B]`` long, the class each video
            was drawn for by a label-masked sampler, -1 for none; None when
            no video of the batch has one.
        columns (dict): metainfo key -> ``B`` per-video values (list, numpy
            array or tensor; a tensor is read back to the host only when a
            sample is made; :data:`MISSING` leaves the key out).
        constants (dict): metainfo key -> one value shared by the batch.
        meta_keys (Sequence[str]): Keys, in order, of each sample's
            metainfo (as ``PackFeatureInputs``); ``drawn_class`` is added
            whenever a video has one.
    """

    def __init__(
        self,
        labels: torch.Tensor,
        drawn: Optional[torch.Tensor] = None,
        columns: Optional[Dict[str, object]] = None,
        constants: Optional[Dict[str, object]] = None,
        meta_keys=(),
    ) -> None:
        if labels.dim() != 2:
            raise ValueError(
                f'labels must be [B, C], got {tuple(labels.shape)}'
            )
        if drawn is not None and drawn.shape != labels.shape[:1]:
            raise ValueError(
                f'drawn must be [B] = [{labels.shape[0]}], got '
                f'{tuple(drawn.shape)}'
            )
        self.labels = labels
        self.drawn = drawn
        self.columns = dict(columns or {})
        self.constants = dict(constants or {})
        self.meta_keys = tuple(meta_keys)
        self._made: Dict[int, ActionDataSample] = {}
        self._drawn_host = None

    def __len__(self) -> int:
        """``B``."""
        return self.labels.shape[0]

    def __getitem__(self, i):
        """The ``ActionDataSample`` of video ``i`` (made once), or a list
        of them for a slice."""
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = operator.index(i)
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f'sample {i} of a batch of {n}')
        sample = self._made.get(i)
        if sample is None:
            sample = self._made[i] = self._make(i)
        return sample

    def _column(self, key: str):
        """Column ``key`` on the host (a tensor is read back once)."""
        value = self.columns[key]
        if isinstance(value, torch.Tensor):
            value = self.columns[key] = value.cpu().numpy()
        return value

    def _make(self, b: int) -> ActionDataSample:
        """The sample ``PackFeatureInputs`` would have made for video
        ``b``."""
        meta = {}
        for key in self.meta_keys:
            if key in self.columns:
                value = self._column(key)[b]
                if isinstance(value, np.integer):
                    value = int(value)
                if not (isinstance(value, str) and value == MISSING):
                    meta[key] = value
            elif key in self.constants:
                meta[key] = self.constants[key]
        if self.drawn is not None:
            if self._drawn_host is None:  # read back once
                self._drawn_host = self.drawn.cpu().tolist()
            c = self._drawn_host[b]
            set_drawn_class(meta, c if c >= 0 else None)
        sample = ActionDataSample()
        set_gt_label(sample, self.labels[b])
        sample.set_metainfo(meta)
        return sample

    def replace(self, **kwargs) -> 'FeatureBatchSamples':
        """A new batch with ``labels`` and / or ``drawn`` replaced (the
        columns are shared; no sample is made)."""
        unknown = set(kwargs) - {'labels', 'drawn'}
        if unknown:
            raise ValueError(
                f'replace: unknown fields {sorted(unknown)}; expected '
                "'labels' and / or 'drawn'"
            )
        return FeatureBatchSamples(
            kwargs.get('labels', self.labels),
            kwargs.get('drawn', self.drawn),
            self.columns,
            self.constants,
            self.meta_keys,
        )

    def to(self, device, non_blocking: bool = False) -> 'FeatureBatchSamples':
        """The batch with labels and drawn classes on ``device`` (one copy
        each, pinned and non-blocking from the host to a GPU)."""
        del non_blocking  # always asynchronous through pinned memory
        return self.replace(
            labels=to_device(self.labels, device),
            drawn=None
            if self.drawn is None
            else to_device(self.drawn, device),
        )


class FeatureBatch(Sequence):
    """What a batched read returns: inputs ``[B, V, N, D]`` (stored dtype)
    and their :class:`FeatureBatchSamples`.

    As a sequence it is the per-sample pipeline's list of ``dict(inputs,
    data_samples)`` (``inputs[i]`` a view of the batch tensor), which is
    what ``pseudo_collate`` expects; ``feature_collate`` takes the batch as
    it is.
    """

    def __init__(
        self, inputs: torch.Tensor, data_samples: FeatureBatchSamples
    ) -> None:
        if inputs.shape[0] != len(data_samples):
            raise ValueError(
                f'{inputs.shape[0]} inputs for {len(data_samples)} samples'
            )
        self.inputs = inputs
        self.data_samples = data_samples

    def __len__(self) -> int:
        """``B``."""
        return self.inputs.shape[0]

    def __getitem__(self, i):
        """``dict(inputs=[V, N, D] view, data_samples=ActionDataSample)``
        of video ``i`` (a list for a slice)."""
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        sample = self.data_samples[i]  # checks the index
        i = operator.index(i)
        return dict(inputs=self.inputs[i], data_samples=sample)
