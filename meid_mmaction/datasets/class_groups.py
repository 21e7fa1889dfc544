"""Class grouping: the one home of head / medium / tail.

Everything that counts training videos per class, splits classes into head /
medium / tail by thresholds, or writes the list / count files lives here:

* :func:`counts_from_labels` - training videos per class;
* :func:`split_groups` - head ``n > head_thr``, tail ``n <= tail_thr``,
  medium the rest;
* :class:`ClassGroups` - names, counts, thresholds and groups together. A
  dataset publishes it in its ``metainfo`` (plain values, see
  :meth:`ClassGroups.to_metainfo`); the evaluator, the samplers, the losses
  and the training loop read it back with :meth:`ClassGroups.from_metainfo`;
* :func:`check_group_indices` - the index check every consumer applies;
* :func:`resolve_evaluation_groups` - the grouping an evaluator uses (from a
  count file, a training list or the dataset's ``metainfo``);
* :func:`write_label_list` / :func:`write_count_file` - the writers of the
  two annotation formats read by :mod:`.annotations`.
"""

import dataclasses
import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .annotations import parse_class_counts, read_train_labels

GROUP_NAMES = ('head', 'medium', 'tail')

#: The ``metainfo`` keys a dataset publishes (see
#: :meth:`ClassGroups.to_metainfo`).
METAINFO_KEYS = ('classes', 'class_counts', 'group_thresholds', 'class_groups')


def check_thresholds(head_thr: int, tail_thr: int) -> None:
    """Raise ``ValueError`` unless ``tail_thr < head_thr``."""
    if tail_thr >= head_thr:
        raise ValueError(
            f'group thresholds must satisfy tail_thr < head_thr, '
            f'got head_thr={head_thr}, tail_thr={tail_thr}'
        )


def counts_from_labels(
    labels: Sequence[Sequence[int]], num_classes: int
) -> np.ndarray:
    """Number of videos carrying each class.

    Args:
        labels (Sequence[Sequence[int]]): Distinct class indices per video.
        num_classes (int): Number of classes ``C``.

    Returns:
        np.ndarray: ``[C]`` int64.
    """
    counts = np.zeros(num_classes, dtype=np.int64)
    for label in labels:
        for c in label:
            counts[c] += 1
    return counts


def split_groups(
    counts: Sequence[int], head_thr: int, tail_thr: int
) -> Dict[str, List[int]]:
    """Group classes by training count.

    head: ``n > head_thr``; tail: ``n <= tail_thr``; medium: the rest.

    Args:
        counts (Sequence[int]): ``[C]`` training videos per class.
        head_thr (int): Head threshold.
        tail_thr (int): Tail threshold, ``< head_thr``.

    Returns:
        dict: ``{'head': [...], 'medium': [...], 'tail': [...]}``, sorted
        class indices.
    """
    check_thresholds(head_thr, tail_thr)
    counts = np.asarray(counts)
    head = np.nonzero(counts > head_thr)[0]
    tail = np.nonzero(counts <= tail_thr)[0]
    medium = np.nonzero((counts > tail_thr) & (counts <= head_thr))[0]
    return dict(head=head.tolist(), medium=medium.tolist(), tail=tail.tolist())


def check_group_indices(
    groups: Mapping[str, Sequence[int]],
    num_classes: int,
    where: str = '',
    names: Sequence[str] = GROUP_NAMES,
) -> Dict[str, List[int]]:
    """Check that every listed group holds indices in ``[0, C)``.

    Args:
        groups (Mapping): ``{'head': [...], ...}``.
        num_classes (int): Number of classes ``C``.
        where (str): Where the groups come from, prefixed to messages.
        names (Sequence[str]): The groups to check (all must be present).

    Returns:
        dict: ``{name: sorted int indices}`` for ``names``.

    Raises:
        ValueError: naming ``where``, the group and the bad indices.
    """
    prefix = f'{where}: ' if where else ''
    if not isinstance(groups, Mapping) or any(g not in groups for g in names):
        keys = [repr(g) for g in names]
        keys = ' and '.join(
            [', '.join(keys[:-1]), keys[-1]] if len(keys) > 1 else keys
        )
        raise ValueError(
            f'{prefix}class_groups must be a dict with keys '
            f'{keys}, got '
            f'{groups!r:.200}'
        )
    out = {}
    for g in names:
        idx = sorted(int(c) for c in groups[g])
        bad = [c for c in idx if not 0 <= c < num_classes]
        if bad:
            raise ValueError(
                f"{prefix}class_groups['{g}'] has indices "
                f'{bad[:10]} outside [0, {num_classes})'
            )
        out[g] = idx
    return out


@dataclasses.dataclass(frozen=True)
class ClassGroups:
    """Class names, training counts and the head / medium / tail groups.

    Build it with :meth:`from_counts` (a dataset, the evaluator given a
    count file, the benchmark builders) or :meth:`from_metainfo` (every
    consumer of a dataset's published grouping).

    Attributes:
        groups (dict): ``{'head': [...], 'medium': [...], 'tail': [...]}``.
        counts (tuple[int], optional): ``[C]`` training videos per class
            (``None`` when only the groups are known).
        thresholds (tuple[int, int], optional): ``(head_thr, tail_thr)``.
        names (tuple[str], optional): Class names.
    """

    groups: Dict[str, List[int]]
    counts: Optional[Tuple[int, ...]] = None
    thresholds: Optional[Tuple[int, int]] = None
    names: Optional[Tuple[str, ...]] = None

    @classmethod
    def from_counts(
        cls,
        counts: Sequence[int],
        head_thr: int,
        tail_thr: int,
        names: Optional[Sequence[str]] = None,
    ) -> 'ClassGroups':
        """Split ``[C]`` training counts with the thresholds.

        Args:
            counts (Sequence[int]): ``[C]`` training videos per class.
            head_thr (int): Head classes have more than ``head_thr``.
            tail_thr (int): Tail classes have at most ``tail_thr``.
            names (Sequence[str], optional): ``C`` class names; defaults to
                ``class_<i>``.
        """
        counts = tuple(int(c) for c in np.asarray(counts).tolist())
        if names is None:
            names = [f'class_{i}' for i in range(len(counts))]
        if len(names) != len(counts):
            raise ValueError(
                f'{len(names)} class names for {len(counts)} class counts'
            )
        return cls(
            groups=split_groups(counts, head_thr, tail_thr),
            counts=counts,
            thresholds=(int(head_thr), int(tail_thr)),
            names=tuple(str(n) for n in names),
        )

    @classmethod
    def from_metainfo(
        cls,
        meta: Mapping,
        thresholds: Optional[Tuple[int, int]] = None,
        where: str = 'dataset metainfo',
    ) -> 'ClassGroups':
        """Read the grouping a dataset published.

        ``meta['class_counts']`` split with ``thresholds`` when they are
        given; else ``meta['class_groups']``; else ``meta['class_counts']``
        split with ``meta['group_thresholds']``.

        Args:
            meta (Mapping): A dataset's ``metainfo`` / ``dataset_meta``.
            thresholds (tuple[int, int], optional): ``(head_thr, tail_thr)``
                overriding the published ones.
            where (str): The reader, for messages.

        Raises:
            ValueError: If ``meta`` has neither counts nor groups, or has
                counts without thresholds.
        """
        meta = meta or {}
        names = meta.get('classes')
        names = tuple(str(n) for n in names) if names else None
        counts = meta.get('class_counts')
        groups = meta.get('class_groups')
        if counts is not None:
            counts = tuple(int(c) for c in counts)
            if names is not None and len(names) != len(counts):
                names = None
            if thresholds is None and groups:
                return cls(
                    groups=_plain_groups(groups),
                    counts=counts,
                    thresholds=_thresholds(meta),
                    names=names,
                )
            if thresholds is None:
                thresholds = _thresholds(meta)
            if thresholds is None:
                raise ValueError(
                    f'{where} needs head_thr and tail_thr: the class groups '
                    "are not in dataset_meta (no 'class_groups' / "
                    "'group_thresholds'); pass e.g. head_thr=500, "
                    'tail_thr=100 (VideoLT)'
                )
            return cls.from_counts(counts, *thresholds, names=names)
        if groups:
            return cls(
                groups=_plain_groups(groups),
                thresholds=_thresholds(meta),
                names=names,
            )
        raise ValueError(
            f'{where} has no class counts: the metainfo has neither '
            "'class_groups' nor 'class_counts'; metainfo keys: "
            f'{sorted(meta.keys())}'
        )

    @property
    def num_classes(self) -> Optional[int]:
        """``C`` when the counts or names are known, else ``None``."""
        if self.counts is not None:
            return len(self.counts)
        if self.names is not None:
            return len(self.names)
        return None

    def to_metainfo(self) -> dict:
        """The plain values a dataset publishes (``METAINFO_KEYS``).

        Plain tuples / lists / dicts only, so that checkpoints that store
        ``dataset_meta`` load with ``weights_only=True``.
        """
        meta = dict(
            class_groups={g: list(self.groups.get(g, ())) for g in GROUP_NAMES}
        )
        if self.names is not None:
            meta['classes'] = tuple(self.names)
        if self.counts is not None:
            meta['class_counts'] = tuple(self.counts)
        if self.thresholds is not None:
            meta['group_thresholds'] = tuple(self.thresholds)
        return meta

    def check(self, num_classes: int, where: str) -> Dict[str, List[int]]:
        """The groups, checked to index ``[0, num_classes)``."""
        return check_group_indices(self.groups, num_classes, where)


def _plain_groups(groups: Mapping[str, Sequence[int]]) -> Dict[str, List[int]]:
    return {g: [int(c) for c in groups.get(g, ())] for g in GROUP_NAMES}


def _thresholds(meta: Mapping) -> Optional[Tuple[int, int]]:
    thr = meta.get('group_thresholds')
    if thr is None:
        return None
    head_thr, tail_thr = thr
    return int(head_thr), int(tail_thr)


def write_label_list(
    path: str, ids: Sequence[str], labels: Sequence[Sequence[int]]
) -> None:
    """Write a video list, ``<video id> <label>[,<label>...]`` per line.

    Args:
        path (str): Output file.
        ids (Sequence[str]): Video ids.
        labels (Sequence[Sequence[int]]): Class indices per video.
    """
    with open(path, 'w', encoding='utf-8') as f:
        for vid, label in zip(ids, labels):
            f.write(f'{vid} {",".join(str(int(c)) for c in label)}\n')


def write_count_file(
    path: str, names: Sequence[str], counts: Sequence[int]
) -> None:
    """Write a class-count file, ``<class name> <class index> <count>``.

    Args:
        path (str): Output file.
        names (Sequence[str]): ``C`` class names.
        counts (Sequence[int]): ``[C]`` training videos per class.
    """
    with open(path, 'w', encoding='utf-8') as f:
        for i, (name, cnt) in enumerate(zip(names, counts)):
            f.write(f'{name} {i} {int(cnt)}\n')


def _given_or_published_thresholds(
    head_thr: Optional[int], tail_thr: Optional[int], meta: Mapping
) -> Tuple[int, int]:
    """The thresholds given to an evaluator, else ``meta['group_thresholds']``
    (a ValueError when neither is known)."""
    if head_thr is not None:
        return head_thr, tail_thr
    if meta.get('group_thresholds') is not None:
        head_thr, tail_thr = meta['group_thresholds']
        return head_thr, tail_thr
    raise ValueError(
        'LongTailMAP needs head_thr and tail_thr: the class groups are '
        "not in dataset_meta (no 'class_groups' / 'group_thresholds'); "
        'pass e.g. head_thr=500, tail_thr=100 (VideoLT)'
    )


def resolve_evaluation_groups(
    width: int,
    meta: Optional[Mapping],
    count_file: Optional[str] = None,
    train_ann_file: Optional[str] = None,
    train_ann_format: str = 'auto',
    num_classes: Optional[int] = None,
    head_thr: Optional[int] = None,
    tail_thr: Optional[int] = None,
) -> Dict[str, Any]:
    """The grouping ``LongTailMAP`` evaluates ``width`` score columns with.

    Taken from, in this order: ``count_file`` or ``train_ann_file``
    (counts, split with ``head_thr`` / ``tail_thr`` or
    ``meta['group_thresholds']``); ``meta['class_counts']`` split with
    ``head_thr`` / ``tail_thr`` when given; ``meta['class_groups']``, else
    ``meta['class_counts']`` split with ``meta['group_thresholds']``.

    Args:
        width (int): ``C``, the number of score columns.
        meta (Mapping, optional): The evaluated dataset's ``dataset_meta``.
        count_file (str, optional): Training class-count file.
        train_ann_file (str, optional): Training list to count classes from.
        train_ann_format (str): Its format (see
            :func:`~.annotations.read_train_labels`).
        num_classes (int, optional): ``C`` as configured (checked).
        head_thr (int, optional): Head threshold.
        tail_thr (int, optional): Tail threshold.

    Returns:
        dict: ``num_classes``, ``names`` (``C`` str), ``counts`` (``[C]``
        int64 array or None), ``thresholds``, ``groups`` (checked indices)
        and ``source`` (where they came from, for messages).

    Raises:
        FileNotFoundError: If ``count_file`` does not exist.
        ValueError: Without counts / groups, thresholds where needed, or
            when the class numbers disagree (naming the source).
    """
    meta = meta or {}
    if count_file is not None:
        if not osp.isfile(count_file):
            raise FileNotFoundError(f'count_file not found: {count_file}')
        names, counts = parse_class_counts(count_file, num_classes)
        grouping = ClassGroups.from_counts(
            counts,
            *_given_or_published_thresholds(head_thr, tail_thr, meta),
            names=names,
        )
        source = f'count file {count_file}'
    elif train_ann_file is not None:
        n = num_classes or len(meta.get('classes', ())) or width
        labels = read_train_labels(train_ann_file, train_ann_format, n)
        grouping = ClassGroups.from_counts(
            counts_from_labels(labels, n),
            *_given_or_published_thresholds(head_thr, tail_thr, meta),
        )
        grouping = dataclasses.replace(grouping, names=None)
        source = f'training list {train_ann_file}'
    elif meta.get('class_counts') is None and not meta.get('class_groups'):
        raise ValueError(
            'LongTailMAP has no class counts: pass count_file= or '
            'train_ann_file= (with head_thr / tail_thr), or evaluate a '
            "dataset whose metainfo has 'class_groups' or "
            "'class_counts'; dataset_meta keys: {}".format(sorted(meta.keys()))
        )
    else:
        thresholds = None if head_thr is None else (head_thr, tail_thr)
        if (
            thresholds is None
            and meta.get('class_counts') is not None
            and not meta.get('class_groups')
        ):
            thresholds = _given_or_published_thresholds(
                head_thr, tail_thr, meta
            )
        grouping = ClassGroups.from_metainfo(meta, thresholds, 'LongTailMAP')
        source = (
            "dataset_meta['class_counts']"
            if thresholds is not None and grouping.counts is not None
            else "dataset_meta['class_groups']"
        )

    counts = (
        None
        if grouping.counts is None
        else np.asarray(grouping.counts, dtype=np.int64)
    )
    if counts is not None:
        n = len(counts)
    elif num_classes is not None:
        n = num_classes
    elif meta.get('classes'):
        n = len(meta['classes'])
    else:
        n = width
    if num_classes is not None and n != num_classes:
        raise ValueError(
            f'{source} gives {n} classes but num_classes={num_classes}'
        )
    if width != n:
        raise ValueError(
            f'prediction scores have {width} classes but the class '
            f'grouping ({source}) has {n}'
        )
    groups = grouping.check(n, source)
    names = grouping.names
    if names is None or len(names) != n:
        meta_names = meta.get('classes')
        if meta_names is not None and len(meta_names) == n:
            names = [str(c) for c in meta_names]
        else:
            names = [f'class_{i}' for i in range(n)]
    return dict(
        num_classes=n,
        names=list(names),
        counts=counts,
        thresholds=grouping.thresholds,
        groups=groups,
        source=source,
    )
