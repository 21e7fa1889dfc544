"""Readers for the annotation files.

Our two formats (see ``docs/design.md``):

* video list: ``<video id> <label>[,<label>...]`` per line;
* class-count file: ``<class name> <class index> <count>`` per line.

The line parsers (:func:`parse_label_line`, :func:`parse_count_line`) are
shared by the readers, which stop at the first bad line, and by the dataset
checker, which collects them all. :func:`read_train_labels` also reads
MMAction2's ``VideoDataset`` / ``RawframeDataset`` lists (for the evaluator's
class counts).

Counting classes, grouping them and writing these files live in
:mod:`.class_groups`.

Every error is a ``ValueError`` that names ``path:line`` and what was expected.
Nothing is skipped silently: blank lines are the only lines ignored.
"""

import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np


class AnnotationLineError(ValueError):
    """A malformed annotation line.

    The message names ``path:line``; ``kind`` classifies the problem
    (``'list_format'``, ``'bad_label'``, ``'label_out_of_range'``,
    ``'count_format'``) for tools that collect problems instead of stopping
    (``tools/data/check_dataset.py``).
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def parse_label_line(
    line: str, where: str, num_classes: Optional[int] = None
) -> Tuple[str, List[int]]:
    """Parse one ``<video id> <label>[,<label>...]`` line (stripped, not
    empty).

    Args:
        line (str): The line.
        where (str): ``path:line`` for messages.
        num_classes (int, optional): If given, labels must be in
            ``[0, num_classes)``.

    Returns:
        tuple: ``(video_id, labels)``, labels sorted and distinct.

    Raises:
        AnnotationLineError: naming ``where``, the value and the expectation.
    """
    parts = line.split()
    if len(parts) != 2:
        raise AnnotationLineError(
            f'{where}: expected "<video id> <label>[,<label>...]" (2 '
            f'whitespace-separated fields), got {len(parts)} fields: '
            f'{line!r}',
            'list_format',
        )
    vid, label_str = parts
    label = []
    for tok in label_str.split(','):
        if tok == '':
            raise AnnotationLineError(
                f'{where}: empty label in {label_str!r} for video {vid!r}; '
                'expected comma-separated class indices',
                'bad_label',
            )
        c = _to_int(tok)
        if c is None:
            raise AnnotationLineError(
                f'{where}: label {tok!r} of video {vid!r} is not an integer '
                'class index',
                'bad_label',
            )
        if c < 0 or (num_classes is not None and c >= num_classes):
            bound = num_classes if num_classes is not None else 'C'
            raise AnnotationLineError(
                f'{where}: label {c} of video {vid!r} is outside [0, {bound})',
                'label_out_of_range',
            )
        label.append(c)
    return vid, sorted(set(label))


def parse_label_list(
    path: str, num_classes: Optional[int] = None
) -> Tuple[List[str], List[List[int]]]:
    """Read a video list (stops at the first bad line).

    Args:
        path (str): The list file.
        num_classes (int, optional): If given, every label must be in
            ``[0, num_classes)``.

    Returns:
        tuple: ``(video_ids, labels)`` where ``labels[i]`` is the sorted list
        of distinct class indices of ``video_ids[i]``.
    """
    ids: List[str] = []
    labels: List[List[int]] = []
    seen: Dict[str, int] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            vid, label = parse_label_line(
                line, f'{path}:{lineno}', num_classes
            )
            if vid in seen:
                raise ValueError(
                    f'{path}:{lineno}: duplicate video id {vid!r} '
                    f'(first seen on line {seen[vid]})'
                )
            seen[vid] = lineno
            ids.append(vid)
            labels.append(label)
    if not ids:
        raise ValueError(f'{path}: no video in the list (empty file)')
    return ids, labels


def parse_video_ids(path: str, num_classes: Optional[int] = None) -> List[str]:
    """Video ids of a list to predict (labels optional, not returned).

    Each line is ``<video id>`` or a video-list line ``<video id>
    <label>[,<label>...]`` (checked as :func:`parse_label_line` does), so a
    split list of a dataset can be predicted as it is.

    Args:
        path (str): The list file.
        num_classes (int, optional): Bound for the labels that are given.

    Returns:
        list[str]: The ids, in file order.

    Raises:
        ValueError: naming ``path:line`` for a line of more than two fields,
            a bad label, a repeated id, or an empty file.
    """
    ids: List[str] = []
    seen: Dict[str, int] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            where = f'{path}:{lineno}'
            if len(line.split()) == 1:
                vid = line
            else:
                try:
                    vid, _ = parse_label_line(line, where, num_classes)
                except AnnotationLineError as e:
                    if e.kind != 'list_format':
                        raise
                    raise AnnotationLineError(
                        f'{where}: expected "<video id>" or "<video id> '
                        f'<label>[,<label>...]", got {line!r}',
                        'list_format',
                    ) from None
            if vid in seen:
                raise ValueError(
                    f'{where}: duplicate video id {vid!r} (first seen on '
                    f'line {seen[vid]})'
                )
            seen[vid] = lineno
            ids.append(vid)
    if not ids:
        raise ValueError(f'{path}: no video in the list (empty file)')
    return ids


def _to_int(text: str) -> Optional[int]:
    try:
        return int(text)
    except ValueError:
        return None


def _count_to_int(text: str) -> Optional[int]:
    """An integer count, also when written as a float (VideoLT's released
    ``count-labels-train.lst`` has ``137.0``); None if not integral."""
    value = _to_int(text)
    if value is not None:
        return value
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def parse_count_line(line: str, where: str) -> Tuple[str, int, int]:
    """Parse one ``<class name> <class index> <count>`` line (stripped, not
    empty); names may contain spaces, counts may be integral floats.

    Raises:
        AnnotationLineError: kind ``'count_format'``, naming ``where``.
    """
    parts = line.rsplit(maxsplit=2)
    if len(parts) != 3:
        raise AnnotationLineError(
            f'{where}: expected "<class name> <class index> <count>", got '
            f'{line!r}',
            'count_format',
        )
    name, idx_s, cnt_s = parts
    idx, cnt = _to_int(idx_s), _count_to_int(cnt_s)
    if idx is None or cnt is None:
        raise AnnotationLineError(
            f'{where}: class index and count must be integers (the count '
            f'may be written as e.g. 137.0), got {idx_s!r} and {cnt_s!r}',
            'count_format',
        )
    if idx < 0 or cnt < 0:
        raise AnnotationLineError(
            f'{where}: negative class index or count in {line!r}',
            'count_format',
        )
    return name, idx, cnt


def parse_class_counts(
    path: str, num_classes: Optional[int] = None
) -> Tuple[List[str], np.ndarray]:
    """Read a class-count file ``<class name> <class index> <count>``.

    Class names may contain spaces: the last two fields are the index and the
    count. Every index in ``[0, C)`` must appear exactly once.

    Returns:
        tuple: ``(names, counts)`` in class-index order; ``counts`` is int64.
    """
    entries: Dict[int, Tuple[str, int, int]] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            name, idx, cnt = parse_count_line(line, f'{path}:{lineno}')
            if idx in entries:
                raise ValueError(
                    f'{path}:{lineno}: class index {idx} repeated (first on '
                    f'line {entries[idx][2]})'
                )
            entries[idx] = (name, cnt, lineno)
    n = len(entries)
    if n == 0:
        raise ValueError(f'{path}: no class in the count file (empty file)')
    if num_classes is not None and n != num_classes:
        raise ValueError(
            f'{path}: the count file lists {n} classes but '
            f'num_classes={num_classes}'
        )
    missing = sorted(set(range(n)) - set(entries))
    if missing:
        raise ValueError(
            f'{path}: class indices must be 0..{n - 1}; missing '
            f'{missing[:10]}{" ..." if len(missing) > 10 else ""}'
        )
    names = [entries[i][0] for i in range(n)]
    counts = np.array([entries[i][1] for i in range(n)], dtype=np.int64)
    return names, counts


TRAIN_ANN_FORMATS = ('auto', 'videolt', 'video', 'rawframe', 'rawframe_offset')


def read_train_labels(
    path: str, ann_format: str = 'auto', num_classes: Optional[int] = None
) -> List[List[int]]:
    """Label lists of a training annotation file.

    Formats (``ann_format``):

    * ``'videolt'``: ``<video id> <label>[,<label>...]``;
    * ``'video'``: MMAction2 ``VideoDataset``, ``<filename> <label>
      [<label>...]``;
    * ``'rawframe'``: MMAction2 ``RawframeDataset``, ``<frame dir>
      <total frames> <label> [<label>...]``;
    * ``'rawframe_offset'``: the same with ``with_offset=True``,
      ``<frame dir> <offset> <total frames> <label> [<label>...]``;
    * ``'auto'``: 2-field lines as ``videolt`` (this also covers
      single-label ``VideoDataset`` lists), longer lines as ``video``.
      Rawframe lists must be named explicitly (their frame count would read
      as a label).

    Returns:
        list[list[int]]: Sorted distinct labels per video.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: On a malformed line or a label outside ``[0, C)``,
            naming ``path:line``.
    """
    if ann_format not in TRAIN_ANN_FORMATS:
        raise ValueError(
            f'train_ann_format must be one of '
            f'{TRAIN_ANN_FORMATS}, got {ann_format!r}'
        )
    if not osp.isfile(path):
        raise FileNotFoundError(f'training annotation file not found: {path}')
    if ann_format == 'videolt':
        return parse_label_list(path, num_classes)[1]
    skip = dict(auto=1, video=1, rawframe=2, rawframe_offset=3)[ann_format]
    hint = (
        (" (for RawframeDataset lists set train_ann_format='rawframe')")
        if ann_format == 'auto'
        else ''
    )
    labels: List[List[int]] = []
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            parts = raw.split()
            if not parts:
                continue
            if ann_format == 'auto' and len(parts) == 2:
                tokens = parts[1].split(',')
            else:
                tokens = parts[skip:]
            if not tokens or '' in tokens:
                raise ValueError(
                    f'{path}:{lineno}: no label (format {ann_format!r} '
                    f'expects labels after {skip} field(s)): {raw.strip()!r}'
                )
            try:
                label = sorted({int(t) for t in tokens})
            except ValueError:
                raise ValueError(
                    f'{path}:{lineno}: labels must be integers (format '
                    f'{ann_format!r}), got {tokens!r}'
                ) from None
            bad = [
                c
                for c in label
                if c < 0 or (num_classes is not None and c >= num_classes)
            ]
            if bad:
                bound = num_classes if num_classes is not None else 'C'
                raise ValueError(
                    f'{path}:{lineno}: label {bad[0]} is '
                    f'outside [0, {bound}){hint}'
                )
            labels.append(label)
    if not labels:
        raise ValueError(f'{path}: no video in the training list (empty)')
    return labels
