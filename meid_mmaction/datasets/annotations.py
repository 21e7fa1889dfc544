"""Readers for the VideoLT-style annotation files.

Two formats (see ``docs/design.md``):

* video list: ``<video id> <label>[,<label>...]`` per line;
* class-count file: ``<class name> <class index> <count>`` per line.

Every error is a ``ValueError`` that names ``path:line`` and what was expected.
Nothing is skipped silently: blank lines are the only lines ignored.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np


def parse_label_list(path: str,
                     num_classes: Optional[int] = None
                     ) -> Tuple[List[str], List[List[int]]]:
    """Read a video list.

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
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(
                    f'{path}:{lineno}: expected "<video id> '
                    f'<label>[,<label>...]" (2 whitespace-separated fields), '
                    f'got {len(parts)} fields: {line!r}')
            vid, label_str = parts
            if vid in seen:
                raise ValueError(
                    f'{path}:{lineno}: duplicate video id {vid!r} '
                    f'(first seen on line {seen[vid]})')
            seen[vid] = lineno
            label = []
            for tok in label_str.split(','):
                if tok == '':
                    raise ValueError(
                        f'{path}:{lineno}: empty label in {label_str!r} for '
                        f'video {vid!r}; expected comma-separated class '
                        'indices')
                try:
                    c = int(tok)
                except ValueError:
                    raise ValueError(
                        f'{path}:{lineno}: label {tok!r} of video {vid!r} is '
                        'not an integer class index') from None
                if c < 0 or (num_classes is not None and c >= num_classes):
                    bound = num_classes if num_classes is not None else 'C'
                    raise ValueError(
                        f'{path}:{lineno}: label {c} of video {vid!r} is '
                        f'outside [0, {bound})')
                label.append(c)
            ids.append(vid)
            labels.append(sorted(set(label)))
    if not ids:
        raise ValueError(f'{path}: no video in the list (empty file)')
    return ids, labels


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


def parse_class_counts(path: str,
                       num_classes: Optional[int] = None
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
            parts = line.rsplit(maxsplit=2)
            if len(parts) != 3:
                raise ValueError(
                    f'{path}:{lineno}: expected "<class name> <class index> '
                    f'<count>", got {line!r}')
            name, idx_s, cnt_s = parts
            idx, cnt = _to_int(idx_s), _count_to_int(cnt_s)
            if idx is None or cnt is None:
                raise ValueError(
                    f'{path}:{lineno}: class index and count must be '
                    f'integers (the count may be written as e.g. 137.0), '
                    f'got {idx_s!r} and {cnt_s!r}')
            if idx < 0 or cnt < 0:
                raise ValueError(f'{path}:{lineno}: negative class index or '
                                 f'count in {line!r}')
            if idx in entries:
                raise ValueError(
                    f'{path}:{lineno}: class index {idx} repeated (first on '
                    f'line {entries[idx][2]})')
            entries[idx] = (name, cnt, lineno)
    n = len(entries)
    if n == 0:
        raise ValueError(f'{path}: no class in the count file (empty file)')
    if num_classes is not None and n != num_classes:
        raise ValueError(f'{path}: the count file lists {n} classes but '
                         f'num_classes={num_classes}')
    missing = sorted(set(range(n)) - set(entries))
    if missing:
        raise ValueError(
            f'{path}: class indices must be 0..{n - 1}; missing '
            f'{missing[:10]}{" ..." if len(missing) > 10 else ""}')
    names = [entries[i][0] for i in range(n)]
    counts = np.array([entries[i][1] for i in range(n)], dtype=np.int64)
    return names, counts


def counts_from_labels(labels: Sequence[Sequence[int]],
                       num_classes: int) -> np.ndarray:
    """Number of videos carrying each class, ``[C]`` int64."""
    counts = np.zeros(num_classes, dtype=np.int64)
    for label in labels:
        for c in label:
            counts[c] += 1
    return counts


def split_groups(counts: Sequence[int], head_thr: int,
                 tail_thr: int) -> Dict[str, List[int]]:
    """Group classes by training count.

    head: ``n > head_thr``; tail: ``n <= tail_thr``; medium: the rest.
    """
    if tail_thr >= head_thr:
        raise ValueError(f'group thresholds must satisfy tail_thr < head_thr, '
                         f'got head_thr={head_thr}, tail_thr={tail_thr}')
    counts = np.asarray(counts)
    head = np.nonzero(counts > head_thr)[0]
    tail = np.nonzero(counts <= tail_thr)[0]
    medium = np.nonzero((counts > tail_thr) & (counts <= head_thr))[0]
    return dict(
        head=head.tolist(), medium=medium.tolist(), tail=tail.tolist())
