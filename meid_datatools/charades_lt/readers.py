"""Read the official Charades / CharadesEgo annotations.

The classes file (``c000 Name``) and the annotation CSVs (columns ``id``,
``actions``, ``length``): labels per video (:func:`read_charades_csv`) and
action timelines (:func:`read_charades_timelines`).
"""

import csv
import re
from typing import Dict, List, Sequence, Tuple

_SEGMENT = re.compile(r'^c(\d+) +(\S+) +(\S+)$')
_CLASS_LINE = re.compile(r'^c(\d+)\s+(\S.*)$')


def read_classes(path: str) -> List[str]:
    """Read a Charades classes file (``c000 Holding some clothes``).

    The class index is the number in ``cNNN``; indices must be ``0..C-1``.

    Returns:
        list[str]: class names in index order (``C`` entries).
    """
    names: Dict[int, Tuple[str, int]] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            m = _CLASS_LINE.match(line)
            if m is None:
                raise ValueError(
                    f'{path}:{lineno}: expected "c<index> <class name>" '
                    f'(e.g. "c000 Holding some clothes"), got {line!r}'
                )
            idx = int(m.group(1))
            if idx in names:
                raise ValueError(
                    f'{path}:{lineno}: class c{idx:03d} repeated (first on '
                    f'line {names[idx][1]})'
                )
            names[idx] = (m.group(2).strip(), lineno)
    if not names:
        raise ValueError(f'{path}: no class in the classes file (empty)')
    missing = sorted(set(range(len(names))) - set(names))
    if missing:
        raise ValueError(
            f'{path}: class indices must be 0..{len(names) - 1}; missing '
            f'{missing[:10]}{" ..." if len(missing) > 10 else ""}'
        )
    return [names[i][0] for i in range(len(names))]


def parse_action_segments(
    actions: str, num_classes: int, where: str
) -> List[Tuple[int, float, float]]:
    """Segments of an ``actions`` field (``c012 1.2 5.0;c003 ...``).

    Args:
        actions (str): The field; empty means no action.
        num_classes (int): Valid indices are ``[0, num_classes)``.
        where (str): ``file:line`` for error messages.

    Returns:
        list[tuple]: ``(class, start s, end s)`` in field order.
    """
    out = []
    actions = actions.strip()
    if not actions:
        return out
    for seg in actions.split(';'):
        seg = seg.strip()
        m = _SEGMENT.match(seg)
        if m is None:
            raise ValueError(
                f'{where}: bad action segment {seg!r}; expected '
                '"c<class> <start s> <end s>" separated by ";"'
            )
        try:
            start, end = float(m.group(2)), float(m.group(3))
        except ValueError:
            raise ValueError(
                f'{where}: bad action segment {seg!r}; start and end must '
                'be numbers (seconds)'
            ) from None
        c = int(m.group(1))
        if c >= num_classes:
            raise ValueError(
                f'{where}: unknown class id c{m.group(1)} in segment '
                f'{seg!r}; expected c000..c{num_classes - 1:03d}'
            )
        out.append((c, start, end))
    return out


def parse_actions(actions: str, num_classes: int, where: str) -> List[int]:
    """Class indices of an ``actions`` field (``c012 1.2 5.0;c003 ...``).

    Args:
        actions (str): The field; empty means no action.
        num_classes (int): Valid indices are ``[0, num_classes)``.
        where (str): ``file:line`` for error messages.

    Returns:
        list[int]: sorted distinct class indices.
    """
    return sorted(
        {c for c, _, _ in parse_action_segments(actions, num_classes, where)}
    )


def _csv_rows(path: str, columns: Sequence[str]):
    """Yield ``(where, {column: value})`` of the non-empty rows of an
    official Charades CSV; checks the header, the column count and that
    ids are non-empty, without whitespace and unique."""
    seen: Dict[str, int] = {}
    with open(path, encoding='utf-8', newline='') as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(
                f'{path}:1: empty file; expected a CSV header '
                f'with the columns {list(columns)}'
            )
        header = [h.strip() for h in header]
        for col in columns:
            if col not in header:
                raise ValueError(
                    f'{path}:1: missing column {col!r} in the header '
                    f'{header}; expected the official Charades layout'
                )
        cols = {col: header.index(col) for col in columns}
        start = reader.line_num + 1
        for row in reader:
            lineno = start
            start = reader.line_num + 1
            if not row or all(not c.strip() for c in row):
                continue
            where = f'{path}:{lineno}'
            if len(row) != len(header):
                raise ValueError(
                    f'{where}: {len(row)} columns, expected {len(header)} '
                    f'(header {header})'
                )
            vid = row[cols['id']].strip()
            if not vid or any(ch.isspace() for ch in vid):
                raise ValueError(
                    f'{where}: bad video id '
                    f'{row[cols["id"]]!r} (empty or with '
                    'whitespace)'
                )
            if vid in seen:
                raise ValueError(
                    f'{where}: duplicate video id {vid!r} '
                    f'(first on line {seen[vid]})'
                )
            seen[vid] = lineno
            yield where, {col: row[i] for col, i in cols.items()}


def read_charades_timelines(
    path: str, num_classes: int
) -> Tuple[List[str], List[float], list]:
    """Read the action timelines of an official Charades CSV.

    Returns:
        tuple: ``(ids, lengths, segments)`` of the videos with at least one
        action: duration in seconds (column ``length``) and the list of
        ``(class, start s, end s)`` per video, each clipped to
        ``[0, length]`` (segments that are empty after clipping or have
        ``end <= start`` are kept as one-instant actions at ``start``).
    """
    ids, lengths, segments = [], [], []
    for where, row in _csv_rows(path, ('id', 'actions', 'length')):
        try:
            length = float(row['length'])
        except ValueError:
            raise ValueError(
                f'{where}: bad length {row["length"]!r}; '
                'expected the duration in seconds'
            ) from None
        if not length > 0:
            raise ValueError(
                f'{where}: length must be > 0 seconds, got {length}'
            )
        segs = parse_action_segments(row['actions'], num_classes, where)
        if not segs:
            continue
        clipped = []
        for c, t0, t1 in segs:
            t0 = min(max(t0, 0.0), length)
            clipped.append((c, t0, min(max(t1, t0), length)))
        ids.append(row['id'].strip())
        lengths.append(length)
        segments.append(clipped)
    return ids, lengths, segments


def read_charades_csv(
    path: str, num_classes: int
) -> Tuple[List[str], List[List[int]], List[str]]:
    """Read an official Charades / CharadesEgo annotation CSV.

    Returns:
        tuple: ``(ids, labels, dropped)``: the videos with at least one
        action and their sorted class indices, and the ids of the videos
        without any action (dropped from the benchmark).
    """
    ids: List[str] = []
    labels: List[List[int]] = []
    dropped: List[str] = []
    for where, row in _csv_rows(path, ('id', 'actions')):
        vid = row['id'].strip()
        label = parse_actions(row['actions'], num_classes, where)
        if label:
            ids.append(vid)
            labels.append(label)
        else:
            dropped.append(vid)
    return ids, labels, dropped
