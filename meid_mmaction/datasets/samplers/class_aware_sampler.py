"""Two-level class-aware sampling for (multi-label) long-tailed datasets.

Each draw picks a class ``c`` with probability ``p_c`` and then one video
of that class uniformly. A multi-label video is a member of every class it
carries. ``p_c`` comes from the :meth:`ClassAwareSampler.class_weights` hook
(``n_c ** class_power`` here, where ``n_c`` is the number of videos of class
``c``); subclasses fix the power (balanced: 0, square root: 0.5) or override
the hook.

Cost: the per-class member lists are built once, as CSR arrays (``offsets``
``[C + 1]`` plus ``members`` ``[P]``, ``P`` = number of (video, class)
pairs). An epoch is two vectorised numpy draws of length ``T`` (the epoch's
total number of draws), seeded from ``(seed, epoch)`` only, so the sequence
is a pure function of ``(seed, epoch, rank, world_size)``: resuming at an
epoch reproduces it, and nothing is carried over between epochs.

Label mask (``label_mask=True``, VideoLT's ``ResamplingDataset_Mask``): the
drawn class must reach the loss. The sampler then yields *encoded* indices
``(c + 1) * N + v`` (video ``v`` drawn for class ``c``, ``N`` videos;
:func:`~meid_mmaction.datasets.label_mask.encode_drawn_index`); a dataset
that accepts them (class attribute ``accepts_drawn_index = True``) decodes
them, loads video ``v`` and records ``drawn_class = c`` in the data sample
(the whole path: :mod:`meid_mmaction.datasets.label_mask`). The encoding
travels through any DataLoader, worker count and DDP split, and stays a pure
function of the seed and the epoch. Labels are read by
:mod:`meid_mmaction.datasets.labels`.
"""

import math
import numbers
import warnings
from typing import Iterator, Optional

import numpy as np
from mmaction.registry import DATA_SAMPLERS
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from ..label_mask import encode_drawn_index
from ..labels import (
    is_int,
    known_num_classes,
    label_to_classes,
    read_dataset_labels,
)


@DATA_SAMPLERS.register_module()
class ClassAwareSampler(Sampler):
    """Draw a class with probability ``∝ n_c ** class_power``, then a video.

    A sample is drawn in two steps: a class ``c`` from the categorical
    distribution :attr:`class_probs`, then one of the ``n_c`` videos
    carrying ``c`` uniformly. A multi-label video belongs to every class in
    its label. Draws are with replacement.

    ``class_power = 0`` is class-balanced sampling, ``0.5`` square-root
    sampling, ``1`` draws classes in proportion to their size. Subclasses
    may override :meth:`class_weights` for other schemes.

    Classes with no video (known from ``dataset.metainfo['classes']`` or
    ``dataset.num_classes``) are left out of the class draw with a warning
    naming them.

    Epoch length: each rank yields ``ceil(T0 / world_size)`` indices where
    ``T0 = num_samples`` if given, else ``len(dataset)``. The epoch draws
    one sequence of ``T = world_size * ceil(T0 / world_size)`` indices
    (``T0`` rounded up to a multiple of the world size) from a generator
    seeded with ``(seed, epoch)``; rank ``r`` takes positions
    ``r, r + world_size, ...``. The shares are disjoint positions of the
    same sequence (the same video may appear in several, as draws are with
    replacement).

    Labels are read with ``dataset.get_label_lists()`` if present, else
    ``dataset.get_cat_ids(idx)``, else ``dataset.get_data_info(idx)
    ['label']`` (int, list of int, or a floating multi-hot tensor ``[C]``).

    Args:
        dataset: The dataset (``len()`` and one of the label accessors).
        class_power (float): Exponent of the class size in the class
            weight. Defaults to 1.0.
        seed (int, optional): Random seed, identical on all ranks. If None,
            :func:`mmengine.dist.sync_random_seed` picks one and broadcasts
            it from rank 0. Defaults to None.
        num_samples (int, optional): Total draws per epoch over all ranks
            (rounded up to a multiple of the world size). Defaults to None,
            i.e. ``len(dataset)``.

    Attributes:
        class_counts (np.ndarray): ``[C]`` int64, videos per class.
        class_probs (np.ndarray): ``[C]`` float64, the class-draw
            distribution (0 for left-out classes; sums to 1).
    """

    def __init__(
        self,
        dataset,
        class_power: float = 1.0,
        seed: Optional[int] = None,
        num_samples: Optional[int] = None,
        label_mask: bool = False,
    ) -> None:
        if not isinstance(label_mask, bool):
            raise ValueError(f'label_mask must be a bool, got {label_mask!r}')
        if label_mask and not getattr(dataset, 'accepts_drawn_index', False):
            raise ValueError(
                f'{type(self).__name__}(label_mask=True) needs a dataset '
                'that decodes (video, class) indices (accepts_drawn_index = '
                f'True, e.g. MultiLabelFeatureDataset); '
                f'{type(dataset).__name__} does not'
            )
        if (
            isinstance(class_power, bool)
            or not isinstance(class_power, numbers.Real)
            or not math.isfinite(class_power)
            or class_power < 0
        ):
            raise ValueError(
                f'class_power must be a finite number >= 0, '
                f'got {class_power!r}'
            )
        if num_samples is not None and (
            not is_int(num_samples) or num_samples <= 0
        ):
            raise ValueError(
                f'num_samples must be a positive int or None, '
                f'got {num_samples!r}'
            )
        if seed is None:
            seed = sync_random_seed()
        if not is_int(seed):
            raise ValueError(f'seed must be an int or None, got {seed!r}')

        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        self.class_power = float(class_power)
        self.seed = int(seed)
        self.label_mask = label_mask
        self.epoch = 0

        self._build_index(dataset)
        self._build_class_distribution()

        total = len(dataset) if num_samples is None else int(num_samples)
        self.num_samples = math.ceil(total / world_size)
        self.total_size = self.num_samples * world_size

    # ------------------------------------------------------------------
    # construction
    def _build_index(self, dataset) -> None:
        """Build the CSR class -> member-video arrays.

        Sets ``_offsets`` ``[C + 1]`` and ``_members`` ``[P]`` (int64):
        the videos of class ``c`` are ``_members[_offsets[c]:
        _offsets[c + 1]]``, in increasing index order.
        """
        name = type(self).__name__
        num_classes, names = known_num_classes(dataset)
        if len(dataset) == 0:
            raise ValueError(
                f'{name}: the dataset has no sample, so all '
                f'{num_classes if num_classes else "its"} classes are '
                'empty; nothing to draw from'
            )
        raw, source = read_dataset_labels(dataset)
        per_sample = [
            label_to_classes(lab, i, source) for i, lab in enumerate(raw)
        ]
        lengths = np.fromiter(
            map(len, per_sample), dtype=np.int64, count=len(per_sample)
        )
        classes = np.fromiter(
            (c for cs in per_sample for c in cs),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        videos = np.repeat(np.arange(len(per_sample), dtype=np.int64), lengths)
        if num_classes is None:
            num_classes = int(classes.max()) + 1
        elif classes.max() >= num_classes:
            pos = int(np.argmax(classes >= num_classes))
            bound_src = (
                "metainfo['classes']"
                if names is not None
                else 'dataset.num_classes'
            )
            raise ValueError(
                f'sample {int(videos[pos])} ({source}): class index '
                f'{int(classes[pos])} is outside [0, {num_classes}) '
                f'({bound_src} declares {num_classes} classes)'
            )
        # Sort pairs by (class, video); a repeated class in one label
        # counts once.
        key = np.unique(classes * len(per_sample) + videos)
        pair_class = key // len(per_sample)
        self._members = key % len(per_sample)
        self.class_counts = np.bincount(pair_class, minlength=num_classes)
        self._offsets = np.zeros(num_classes + 1, dtype=np.int64)
        np.cumsum(self.class_counts, out=self._offsets[1:])
        self.num_classes = num_classes
        self._class_names = names

    def class_weights(self, counts: np.ndarray) -> np.ndarray:
        """Unnormalised class-draw weights (the hook for subclasses).

        Args:
            counts (np.ndarray): ``[C]`` int64, videos per class.

        Returns:
            np.ndarray: ``[C]`` non-negative weights. Classes with no video
            are left out afterwards whatever their weight.
        """
        return counts.astype(np.float64) ** self.class_power

    def _build_class_distribution(self) -> None:
        name = type(self).__name__
        counts = self.class_counts
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            if self._class_names is not None:
                listed = ', '.join(
                    f'{c} ({self._class_names[c]!r})' for c in empty.tolist()
                )
            else:
                listed = ', '.join(map(str, empty.tolist()))
            warnings.warn(
                f'{name}: {len(empty)} of {self.num_classes} classes have no '
                f'sample in the dataset and are left out of the class draw: '
                f'{listed}',
                UserWarning,
                stacklevel=3,
            )
        weights = np.asarray(self.class_weights(counts), dtype=np.float64)
        if weights.shape != counts.shape:
            raise ValueError(
                f'{name}.class_weights() returned shape {weights.shape}, '
                f'expected {counts.shape} (one weight per class)'
            )
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if len(bad):
            raise ValueError(
                f'{name}.class_weights(): weight of class {int(bad[0])} is '
                f'{float(weights[bad[0]])!r}; expected finite weights >= 0'
            )
        weights = np.where(counts > 0, weights, 0.0)
        if weights.sum() <= 0:
            raise ValueError(
                f'{name}: every class has zero draw weight (class_weights() '
                'gave 0 to all non-empty classes); nothing to draw from'
            )
        self.class_probs = weights / weights.sum()
        self._drawn_classes = np.flatnonzero(self.class_probs > 0)
        self._drawn_probs = self.class_probs[self._drawn_classes]

    # ------------------------------------------------------------------
    # sampling
    def _draw(self, epoch: int) -> np.ndarray:
        """The whole epoch's sequence ``[T]`` (all ranks), int64: video
        indices, or encoded ``(video, class)`` indices with
        ``label_mask``."""
        rng = np.random.default_rng([self.seed % (1 << 64), epoch])
        cls = rng.choice(
            self._drawn_classes, size=self.total_size, p=self._drawn_probs
        )
        pos = rng.integers(0, self.class_counts[cls])
        videos = self._members[self._offsets[cls] + pos]
        if self.label_mask:
            return encode_drawn_index(videos, cls, len(self.dataset))
        return videos

    def __iter__(self) -> Iterator[int]:
        """Yield this rank's ``num_samples`` dataset indices."""
        seq = self._draw(self.epoch)
        return iter(seq[self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        """The number of indices this rank yields per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose sequence the next iteration yields.

        Args:
            epoch (int): Epoch number (>= 0).
        """
        if not is_int(epoch) or epoch < 0:
            raise ValueError(f'epoch must be an int >= 0, got {epoch!r}')
        self.epoch = int(epoch)
