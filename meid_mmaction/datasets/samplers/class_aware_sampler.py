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
:func:`encode_drawn_index`); a dataset that accepts them (class attribute
``accepts_drawn_index = True``) decodes them with
:func:`decode_drawn_index`, loads video ``v`` and records ``drawn_class =
c`` in the data sample. The encoding travels through any DataLoader, worker
count and DDP split, and stays a pure function of the seed and the epoch.
"""

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmaction.registry import DATA_SAMPLERS
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

_UNLABELLED = -1  # mmaction's VideoDataset placeholder for "no label"


def encode_drawn_index(
    videos: np.ndarray, classes: np.ndarray, num_videos: int
) -> np.ndarray:
    """Encode (video, drawn class) pairs as ``(c + 1) * N + v``.

    Args:
        videos (np.ndarray): Video indices in ``[0, N)``.
        classes (np.ndarray): Drawn classes (same shape), ``>= 0``.
        num_videos (int): ``N``, the dataset length.

    Returns:
        np.ndarray: int64 indices ``>= N`` (plain indices stay below ``N``).
    """
    return (np.asarray(classes, dtype=np.int64) + 1) * int(
        num_videos
    ) + np.asarray(videos, dtype=np.int64)


def decode_drawn_index(
    index: int, num_videos: int
) -> Tuple[int, Optional[int]]:
    """Inverse of :func:`encode_drawn_index` for one index.

    Args:
        index (int): A plain index ``[0, N)`` or an encoded one.
        num_videos (int): ``N``, the dataset length.

    Returns:
        tuple: ``(video, drawn_class)``; ``drawn_class`` is None for a plain
        index.
    """
    index = int(index)
    if index < 0:
        raise ValueError(f'sample index {index} is negative')
    if index < num_videos:
        return index, None
    return index % num_videos, index // num_videos - 1


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(
        value, (bool, np.bool_)
    )


def _array_to_classes(label: np.ndarray, where: str) -> List[int]:
    """Class indices of an integer array or a floating multi-hot ``[C]``."""
    if np.issubdtype(label.dtype, np.floating):
        if label.ndim != 1:
            raise ValueError(
                f'{where}: a floating label is read as a multi-hot '
                f'vector [C], got shape {tuple(label.shape)}'
            )
        if not np.all(np.isfinite(label)):
            raise ValueError(f'{where}: multi-hot label contains NaN or inf')
        return np.flatnonzero(label).tolist()
    if np.issubdtype(label.dtype, np.integer):
        return label.reshape(-1).tolist()
    raise ValueError(
        f'{where}: label array of dtype {label.dtype} is neither '
        'integer class indices nor a floating multi-hot vector'
    )


def _label_to_classes(label, idx: int, source: str) -> List[int]:
    """Turn one sample's label into a list of class indices.

    Accepted: an int; a list/tuple of ints; an integer tensor/array of
    indices (any shape, flattened); a floating tensor/array ``[C]`` read as
    multi-hot (mmaction's ``multi_class`` datasets store a one-hot float
    tensor), whose non-zero positions are the classes.

    Raises:
        ValueError: naming sample ``idx`` and ``source`` if the label is
            missing, empty, negative or not made of integers.
    """
    if (
        type(label) is list
        and label
        and all(type(c) is int and c >= 0 for c in label)
    ):
        return label  # fast path: the common, already valid case
    where = f'sample {idx} ({source})'
    if label is None:
        raise ValueError(
            f'{where}: label is None; every sample needs at '
            'least one class index'
        )
    if isinstance(label, torch.Tensor):
        label = label.detach().cpu().numpy()
    if isinstance(label, np.ndarray):
        classes = _array_to_classes(label, where)
    elif _is_int(label):
        classes = [int(label)]
    elif isinstance(label, (list, tuple)):
        for c in label:
            if not _is_int(c):
                raise ValueError(
                    f'{where}: label {label!r} contains {c!r} '
                    f'({type(c).__name__}); expected int class indices'
                )
        classes = [int(c) for c in label]
    else:
        raise ValueError(
            f'{where}: unsupported label type {type(label).__name__} '
            f'({label!r}); expected int, list of int, or a tensor'
        )
    if not classes:
        raise ValueError(
            f'{where}: sample has no label (empty class list); '
            'every sample needs at least one class index'
        )
    if classes == [_UNLABELLED]:
        raise ValueError(
            f"{where}: label is -1 (mmaction's placeholder for an "
            'unlabelled sample); a class-aware sampler needs labelled '
            'training samples'
        )
    for c in classes:
        if c < 0:
            raise ValueError(
                f'{where}: class index {c} in label {classes} is negative'
            )
    return classes


def _read_labels(dataset) -> Tuple[List, str]:
    """All samples' raw labels and the name of the access path used.

    Order of preference (``docs/design.md``): ``get_label_lists()``,
    ``get_cat_ids(idx)``, ``get_data_info(idx)['label']``.
    """
    num = len(dataset)
    get_label_lists = getattr(dataset, 'get_label_lists', None)
    if callable(get_label_lists):
        labels = list(get_label_lists())
        if len(labels) != num:
            raise ValueError(
                f'{type(dataset).__name__}.get_label_lists() returned '
                f'{len(labels)} label lists, expected one per sample '
                f'(len(dataset) = {num})'
            )
        return labels, 'get_label_lists()'
    get_cat_ids = getattr(dataset, 'get_cat_ids', None)
    if callable(get_cat_ids) and num > 0:
        try:
            first = get_cat_ids(0)
        except NotImplementedError:
            # mmengine's BaseDataset declares it but does not implement it.
            pass
        else:
            return (
                [first] + [get_cat_ids(i) for i in range(1, num)],
                'get_cat_ids()',
            )
    get_data_info = getattr(dataset, 'get_data_info', None)
    if not callable(get_data_info):
        raise ValueError(
            f'{type(dataset).__name__} has none of get_label_lists(), '
            'get_cat_ids(idx) or get_data_info(idx); a class-aware sampler '
            'cannot read its labels'
        )
    labels = []
    for i in range(num):
        info = get_data_info(i)
        if not isinstance(info, Mapping) or 'label' not in info:
            keys = sorted(info) if isinstance(info, Mapping) else info
            raise ValueError(
                f'sample {i} (get_data_info()): no "label" key in the data '
                f'info (got {keys!r}); a class-aware sampler needs labels'
            )
        labels.append(info['label'])
    return labels, "get_data_info()['label']"


def _known_num_classes(dataset) -> Tuple[Optional[int], Optional[Sequence]]:
    """``(C, class names)`` from ``metainfo['classes']`` or ``num_classes``.

    Returns ``(None, None)`` when the dataset declares neither.
    """
    meta = getattr(dataset, 'metainfo', None)
    if isinstance(meta, Mapping) and meta.get('classes') is not None:
        names = tuple(meta['classes'])
        return len(names), names
    num_classes = getattr(dataset, 'num_classes', None)
    if _is_int(num_classes) and num_classes > 0:
        return int(num_classes), None
    return None, None


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
            not _is_int(num_samples) or num_samples <= 0
        ):
            raise ValueError(
                f'num_samples must be a positive int or None, '
                f'got {num_samples!r}'
            )
        if seed is None:
            seed = sync_random_seed()
        if not _is_int(seed):
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
        num_classes, names = _known_num_classes(dataset)
        if len(dataset) == 0:
            raise ValueError(
                f'{name}: the dataset has no sample, so all '
                f'{num_classes if num_classes else "its"} classes are '
                'empty; nothing to draw from'
            )
        raw, source = _read_labels(dataset)
        per_sample = [
            _label_to_classes(lab, i, source) for i, lab in enumerate(raw)
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
        if not _is_int(epoch) or epoch < 0:
            raise ValueError(f'epoch must be an int >= 0, got {epoch!r}')
        self.epoch = int(epoch)
