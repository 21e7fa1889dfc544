"""A dataset's labels as class-index lists: the one home of label reading.

Annotation *files* are parsed by :mod:`.annotations` (line formats, named
``path:line``). This module reads the labels a dataset object already holds,
whatever their form, into lists of class indices:

* :func:`label_to_classes` - one sample's label (an int, a list of ints, an
  integer tensor / array of indices, or a floating multi-hot ``[C]``);
* :func:`read_dataset_labels` - all samples' labels, through
  ``get_label_lists()``, ``get_cat_ids(idx)`` or ``get_data_info(idx)
  ['label']`` (in that order of preference);
* :func:`known_num_classes` - ``C`` as the dataset declares it;
* :func:`label_ranges` - positions of a batch's labels in CSR label arrays.

The class-aware samplers build their class index with them.
"""

import numbers
from collections.abc import Mapping
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

#: mmaction's ``VideoDataset`` placeholder for "no label".
UNLABELLED = -1


def is_int(value) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
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


def label_to_classes(label, idx: int, source: str) -> List[int]:
    """Turn one sample's label into a list of class indices.

    Accepted: an int; a list/tuple of ints; an integer tensor/array of
    indices (any shape, flattened); a floating tensor/array ``[C]`` read as
    multi-hot (mmaction's ``multi_class`` datasets store a one-hot float
    tensor), whose non-zero positions are the classes.

    Args:
        label: The sample's label.
        idx (int): The sample's index (for messages).
        source (str): How the label was read (for messages).

    Returns:
        list[int]: The class indices, in the label's order.

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
    elif is_int(label):
        classes = [int(label)]
    elif isinstance(label, (list, tuple)):
        for c in label:
            if not is_int(c):
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
    if classes == [UNLABELLED]:
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


def read_dataset_labels(dataset) -> Tuple[List, str]:
    """All samples' raw labels and the name of the access path used.

    Order of preference (``docs/design.md``): ``get_label_lists()``,
    ``get_cat_ids(idx)``, ``get_data_info(idx)['label']``. The labels are
    returned as the dataset gives them (turn each into class indices with
    :func:`label_to_classes`).

    Args:
        dataset: A dataset with ``len()`` and one of the accessors.

    Returns:
        tuple: ``(labels, source)``, one raw label per sample and the
        accessor's name (for messages).
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


def known_num_classes(dataset) -> Tuple[Optional[int], Optional[Sequence]]:
    """``(C, class names)`` from ``metainfo['classes']`` or ``num_classes``.

    Args:
        dataset: Any dataset.

    Returns:
        tuple: ``(C, names)``; ``names`` is None when only ``num_classes``
        is declared, and ``(None, None)`` when the dataset declares neither.
    """
    meta = getattr(dataset, 'metainfo', None)
    if isinstance(meta, Mapping) and meta.get('classes') is not None:
        names = tuple(meta['classes'])
        return len(names), names
    num_classes = getattr(dataset, 'num_classes', None)
    if is_int(num_classes) and num_classes > 0:
        return int(num_classes), None
    return None, None


def label_ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``concatenate([arange(a, b) for a, b in zip(lo, hi)])``, vectorised
    (``hi > lo`` everywhere): the positions of the labels of videos ``[B]``
    in a flat CSR label array (``lo`` / ``hi`` ``[B]`` from its offsets)."""
    lengths = hi - lo
    starts = np.repeat(
        lo - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths
    )
    return starts + np.arange(lengths.sum())
