"""The long-tail evaluator as a function: scores and labels in, table out.

:func:`long_tail_map` is what :class:`~meid_mmaction.evaluation.metrics.
LongTailMAP` computes at every evaluation, without MMAction2's data samples,
a runner or a dataset: ``[N, C]`` scores, ``[N, C]`` multi-hot labels and
the training count of every class (with the head / tail thresholds), or
explicit head / medium / tail groups. It returns the overall / head /
medium / tail mAP, the grouped table (classes per group) and the per-class
AP (scikit-learn's ``average_precision_score`` per class, ties included).

Grouping follows :mod:`meid_mmaction.datasets.class_groups` (head:
``count > head_thr``; tail: ``count <= tail_thr``; medium: the rest).

Example:
    >>> import numpy as np
    >>> from meid_mmaction.evaluation.functional import long_tail_map
    >>> scores = np.array([[0.9, 0.2, 0.1],
    ...                    [0.8, 0.7, 0.3],
    ...                    [0.1, 0.6, 0.8],
    ...                    [0.3, 0.1, 0.4]])
    >>> labels = np.array([[1, 0, 0],
    ...                    [1, 1, 0],
    ...                    [0, 0, 1],
    ...                    [0, 1, 0]])
    >>> res = long_tail_map(scores, labels, class_counts=[500, 40, 3],
    ...                     head_thr=100, tail_thr=10)
    >>> res.groups
    {'head': [0], 'medium': [1], 'tail': [2]}
    >>> res.per_class_ap.round(4).tolist()
    [1.0, 0.75, 1.0]
    >>> round(res.metrics['mAP'], 4), res.metrics['mAP_tail']
    (0.9167, 1.0)
    >>> print(res.table())
    | group  | classes | evaluated | no positive | mAP    |
    |--------|--------:|----------:|------------:|-------:|
    | all    |       3 |         3 |           0 | 0.9167 |
    | head   |       1 |         1 |           0 | 1.0000 |
    | medium |       1 |         1 |           0 | 0.7500 |
    | tail   |       1 |         1 |           0 | 1.0000 |
"""

import dataclasses
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from meid_mmaction.datasets.class_groups import (
    GROUP_NAMES,
    ClassGroups,
    check_group_indices,
)

from ..reports import markdown_table, write_per_class_csv
from .average_precision import average_precision, mean_ap

#: Columns of :meth:`LongTailResult.table` (and of the table LongTailMAP
#: logs).
TABLE_HEADER = ('group', 'classes', 'evaluated', 'no positive', 'mAP')


def group_summary(
    ap: torch.Tensor, groups: Mapping[str, Sequence[int]]
) -> List[Tuple[str, int, int, int, float]]:
    """Rows of the grouped table: all classes, then head / medium / tail.

    Args:
        ap (torch.Tensor): ``[C]`` per-class AP, NaN for classes without a
            positive video.
        groups (Mapping): ``{'head': [...], 'medium': [...], 'tail': [...]}``
            class indices.

    Returns:
        list[tuple]: ``(group, classes, evaluated, no positive, mAP)`` per
        row (``'all'`` first); ``mAP`` is NaN for a group without any
        evaluated class.
    """
    ap = torch.as_tensor(ap)
    no_pos = torch.isnan(ap).cpu()
    all_idx = list(range(ap.shape[0]))
    rows = []
    for name, idx in [('all', all_idx)] + [
        (g, groups[g]) for g in GROUP_NAMES
    ]:
        idx = list(idx)
        excluded = int(no_pos[idx].sum()) if idx else 0
        value = mean_ap(ap, idx) if idx else float('nan')
        rows.append((name, len(idx), len(idx) - excluded, excluded, value))
    return rows


def summary_table(rows: Sequence[Tuple[str, int, int, int, float]]) -> str:
    """The rows of :func:`group_summary` as a markdown table (``n/a``: NaN)."""
    return markdown_table(
        TABLE_HEADER,
        [
            (*row[:4], 'n/a' if np.isnan(row[4]) else f'{row[4]:.4f}')
            for row in rows
        ],
    )


@dataclasses.dataclass
class LongTailResult:
    """What :func:`long_tail_map` returns.

    Attributes:
        metrics (dict): ``mAP``, ``mAP_head``, ``mAP_medium``, ``mAP_tail``
            (NaN for a group without any evaluated class) and
            ``num_classes_without_positives``; the keys ``LongTailMAP``
            reports (without its ``lt/`` prefix).
        per_class_ap (np.ndarray): ``[C]`` float64 AP, NaN for a class
            without a positive video.
        num_positives (np.ndarray): ``[C]`` int64 positive videos per class.
        groups (dict): ``{'head': [...], 'medium': [...], 'tail': [...]}``.
        rows (list[tuple]): ``(group, classes, evaluated, no positive,
            mAP)`` for ``all`` / head / medium / tail.
        class_counts (np.ndarray, optional): ``[C]`` training counts.
        names (list[str]): ``C`` class names.
    """

    metrics: Dict[str, float]
    per_class_ap: np.ndarray
    num_positives: np.ndarray
    groups: Dict[str, List[int]]
    rows: List[Tuple[str, int, int, int, float]]
    class_counts: Optional[np.ndarray]
    names: List[str]

    def table(self) -> str:
        """The grouped table as markdown (as ``LongTailMAP`` logs it)."""
        return summary_table(self.rows)

    def write_csv(self, path: str) -> None:
        """Write the per-class AP CSV (the columns ``LongTailMAP`` writes).

        Args:
            path (str): Output file; read it back with
                ``tools/analysis/plot_per_class_ap.py``.
        """
        group_of = {c: g for g in GROUP_NAMES for c in self.groups[g]}
        write_per_class_csv(
            path,
            self.names,
            None if self.class_counts is None else self.class_counts.tolist(),
            group_of,
            self.num_positives.tolist(),
            self.per_class_ap.tolist(),
        )


def _resolve_groups(
    num_classes: int,
    class_counts: Optional[Sequence[int]],
    head_thr: Optional[int],
    tail_thr: Optional[int],
    groups: Optional[Mapping[str, Sequence[int]]],
    names: Optional[Sequence[str]],
) -> ClassGroups:
    if class_counts is not None:
        class_counts = np.asarray(class_counts)
        if class_counts.ndim != 1 or len(class_counts) != num_classes:
            raise ValueError(
                f'class_counts must have one count per class ({num_classes} '
                f'score columns), got shape {class_counts.shape}'
            )
    if names is not None and len(names) != num_classes:
        raise ValueError(
            f'names must have one name per class ({num_classes} score '
            f'columns), got {len(names)}'
        )
    if groups is not None:
        if head_thr is not None or tail_thr is not None:
            raise ValueError(
                'pass either groups= or head_thr= / tail_thr=, not both'
            )
        checked = check_group_indices(groups, num_classes, 'long_tail_map')
        return ClassGroups(
            groups=checked,
            counts=None
            if class_counts is None
            else tuple(int(c) for c in class_counts),
            names=None if names is None else tuple(str(n) for n in names),
        )
    if class_counts is None:
        raise ValueError(
            'long_tail_map needs class_counts= (with head_thr= and '
            'tail_thr=) or groups= (head / medium / tail class indices)'
        )
    if head_thr is None or tail_thr is None:
        raise ValueError(
            'long_tail_map needs head_thr= and tail_thr= with '
            f'class_counts= (got head_thr={head_thr}, tail_thr={tail_thr}); '
            'e.g. head_thr=500, tail_thr=100 (VideoLT)'
        )
    return ClassGroups.from_counts(class_counts, head_thr, tail_thr, names)


def long_tail_map(
    scores,
    labels,
    class_counts: Optional[Sequence[int]] = None,
    head_thr: Optional[int] = None,
    tail_thr: Optional[int] = None,
    groups: Optional[Mapping[str, Sequence[int]]] = None,
    names: Optional[Sequence[str]] = None,
) -> LongTailResult:
    """Overall / head / medium / tail mAP and per-class AP of predictions.

    The grouping comes from ``class_counts`` split with ``head_thr`` /
    ``tail_thr`` (head: ``count > head_thr``, tail: ``count <= tail_thr``),
    or from explicit ``groups`` (then ``class_counts``, if given, is only
    recorded). A class without a positive video has AP NaN and is left out
    of every mean, as in ``LongTailMAP``.

    Args:
        scores (np.ndarray | torch.Tensor): ``[N, C]`` scores of N videos
            (higher = more confident; probabilities or logits).
        labels (np.ndarray | torch.Tensor): ``[N, C]`` multi-hot ground
            truth, values in ``{0, 1}``.
        class_counts (Sequence[int], optional): ``[C]`` training videos per
            class (e.g. the third column of a count file).
        head_thr (int, optional): Head threshold, with ``class_counts``.
        tail_thr (int, optional): Tail threshold, ``< head_thr``.
        groups (Mapping, optional): ``{'head': [...], 'medium': [...],
            'tail': [...]}`` class indices, instead of the thresholds.
        names (Sequence[str], optional): ``C`` class names (for the CSV);
            default ``class_<i>``.

    Returns:
        LongTailResult: ``metrics``, ``per_class_ap`` ``[C]``, ``groups``,
        ``rows`` / ``table()`` and ``write_csv(path)``.

    Raises:
        ValueError: For scores / labels of other shapes, non-binary labels,
            NaN scores, counts or names not matching ``C``, missing
            thresholds or groups, or group indices outside ``[0, C)``.
    """
    scores = torch.as_tensor(scores)
    labels = torch.as_tensor(labels)
    ap = average_precision(scores, labels)  # checks shapes and values
    num_classes = scores.shape[1]
    grouping = _resolve_groups(
        num_classes, class_counts, head_thr, tail_thr, groups, names
    )
    group_idx = {g: list(grouping.groups[g]) for g in GROUP_NAMES}
    rows = group_summary(ap, group_idx)
    metrics: Dict[str, float] = OrderedDict()
    for name, _, _, _, value in rows:
        metrics['mAP' if name == 'all' else f'mAP_{name}'] = value
    metrics['num_classes_without_positives'] = rows[0][3]
    counts = grouping.counts
    return LongTailResult(
        metrics=metrics,
        per_class_ap=ap.cpu().numpy(),
        num_positives=(labels != 0).sum(dim=0).cpu().numpy().astype(np.int64),
        groups=group_idx,
        rows=rows,
        class_counts=None if counts is None else np.asarray(counts, np.int64),
        names=list(grouping.names)
        if grouping.names is not None
        else [f'class_{i}' for i in range(num_classes)],
    )
