"""Per-class results people paste and look at.

The one home of the per-class AP CSV (written by :class:`LongTailMAP` at
every evaluation, read back by ``tools/analysis/plot_per_class_ap.py``) and
where it goes (:func:`per_class_ap_path`), markdown tables, the grouped
table ``LongTailMAP`` logs (:func:`log_long_tail_summary`). The plot of
per-class AP against the training count is in :mod:`.plots`.

CSV columns (one row per class, in class order)::

    class_index, class_name, train_count, group, num_test_positives, ap

``train_count`` is empty when the grouping came without counts, ``ap`` is
empty for a class without a positive evaluation video.
"""

import csv
import logging
import math
import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import MMLogger, print_log

# The plot of a per-class table lives in .plots; imported here for callers
# of this module (tools/test.py, tools/analysis/plot_per_class_ap.py).
from .plots import GROUP_COLORS, group_boundaries, plot_per_class_ap  # noqa: F401

GROUPS = ('head', 'medium', 'tail')
PER_CLASS_FIELDS = (
    'class_index',
    'class_name',
    'train_count',
    'group',
    'num_test_positives',
    'ap',
)


def unique_path(path: str) -> str:
    """``path``, or ``<stem>_<k><ext>`` with the smallest free ``k >= 1``.

    Used so that no evaluation overwrites the output of an earlier one.
    """
    if not osp.exists(path):
        return path
    stem, ext = osp.splitext(path)
    k = 1
    while osp.exists(f'{stem}_{k}{ext}'):
        k += 1
    return f'{stem}_{k}{ext}'


def write_per_class_csv(
    path: str,
    names: Sequence[str],
    counts: Optional[Sequence[int]],
    group_of: Dict[int, str],
    num_positives: Sequence[int],
    ap: Sequence[float],
) -> None:
    """Write the per-class AP table (columns: :data:`PER_CLASS_FIELDS`).

    Args:
        path (str): Output file; its directory is created.
        names (Sequence[str]): ``C`` class names.
        counts (Sequence[int], optional): ``C`` training counts.
        group_of (dict[int, str]): Class index -> ``'head'`` /
            ``'medium'`` / ``'tail'`` (classes missing get an empty group).
        num_positives (Sequence[int]): ``C`` positive evaluation videos.
        ap (Sequence[float]): ``C`` APs, NaN for classes without positives.
    """
    parent = osp.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(PER_CLASS_FIELDS)
        for c, name in enumerate(names):
            value = float(ap[c])
            writer.writerow(
                (
                    c,
                    name,
                    '' if counts is None else int(counts[c]),
                    group_of.get(c, ''),
                    int(num_positives[c]),
                    '' if math.isnan(value) else repr(value),
                )
            )


def per_class_ap_path(
    per_class_ap_file: Optional[str],
    split: Optional[str],
    tag: Optional[str],
    out_dir: Optional[str],
) -> Optional[str]:
    """Where an evaluation's per-class AP CSV goes (None: not written).

    ``per_class_ap_file`` (default ``per_class_ap_{split}_{tag}.csv``) is
    filled with ``split`` (default ``'eval'``) and ``tag`` (left out of the
    default name when None). A relative path goes under ``out_dir``, else
    the current logger's directory (``<work_dir>/<timestamp>/``); without
    either, a default name is not written and a given one is used relative
    to the current directory. The result is :func:`unique_path`.

    Args:
        per_class_ap_file (str, optional): The configured name.
        split (str, optional): The evaluated list, e.g. ``'val'``.
        tag (str, optional): The model evaluated, e.g. ``'epoch_12'``.
        out_dir (str, optional): Output directory.
    """
    given = per_class_ap_file is not None
    name = per_class_ap_file if given else 'per_class_ap_{split}_{tag}.csv'
    split = split or 'eval'
    if tag is None:
        # without the hook: per_class_ap_eval.csv, _1, _2, ...
        name = name.replace('_{tag}', '').replace('{tag}', 'eval')
    try:
        name = name.format(split=split, tag=tag)
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(
            f'per_class_ap_file={per_class_ap_file!r}: only the '
            f'fields {{split}} and {{tag}} can be used ({err!r})'
        ) from None
    if osp.isabs(name):
        return unique_path(name)
    if out_dir is None:
        # A runner's logger writes to <work_dir>/<timestamp>/<ts>.log.
        log_file = MMLogger.get_current_instance().log_file
        if log_file:
            out_dir = osp.dirname(log_file)
    if out_dir is None:
        return unique_path(name) if given else None
    return unique_path(osp.join(out_dir, name))


def write_grouped_per_class_csv(
    path: str, grouping: Mapping, ap: Sequence[float], n_pos: Sequence[int]
) -> None:
    """:func:`write_per_class_csv` of an evaluator's grouping (``names``,
    ``counts``, ``groups``), then log the path.

    Args:
        path (str): Output file.
        grouping (Mapping): As
            :func:`~meid_mmaction.datasets.class_groups.resolve_evaluation_groups`
            returns it.
        ap (Sequence[float]): ``[C]`` per-class AP (NaN: no positive).
        n_pos (Sequence[int]): ``[C]`` positive evaluation videos.
    """
    group_of = {}
    for g in GROUPS:
        for c in grouping['groups'][g]:
            group_of[c] = g
    write_per_class_csv(
        path, grouping['names'], grouping['counts'], group_of, n_pos, ap
    )
    print_log(f'per-class AP written to {path}', logger='current')


def log_long_tail_summary(
    table: str,
    metrics: Mapping[str, float],
    topk: Sequence[int],
    source: str,
    num_videos: int,
    num_with_label: int,
    split: Optional[str] = None,
) -> None:
    """Log ``LongTailMAP``'s grouped markdown table and top-k rates.

    Args:
        table (str): The grouped table (``summary_table``).
        metrics (Mapping): With ``top{k}`` for every ``k`` of ``topk``.
        topk (Sequence[int]): The ``k`` values.
        source (str): Where the grouping came from.
        num_videos (int): Evaluated videos.
        num_with_label (int): Those with at least one true label.
        split (str, optional): The evaluated list, named when given.
    """
    topk_text = ', '.join(f'top{k} {metrics[f"top{k}"]:.4f}' for k in topk)
    what = '' if split is None else f' of split {split!r}'
    print_log(
        f'LongTailMAP{what} on {num_videos} videos ({num_with_label} '
        f'with a label), groups from {source}:\n' + table + f'\n{topk_text}',
        logger='current',
    )


def warn_empty_group(
    name: str,
    size: int,
    thresholds: Optional[Tuple[int, int]],
    warned: set,
) -> None:
    """Warn once per group (tracked in ``warned``) that its mAP is
    undefined (reported NaN).

    Args:
        name (str): ``'head'``, ``'medium'`` or ``'tail'``.
        size (int): Classes in the group.
        thresholds (tuple[int, int], optional): ``(head_thr, tail_thr)``.
        warned (set): Groups warned about already; ``name`` is added.
    """
    if name in warned:
        return
    warned.add(name)
    if size == 0:
        why = 'has no class'
    else:
        why = f'has {size} classes, none with a positive video here'
    thr_text = (
        ''
        if thresholds is None
        else f' (head_thr={thresholds[0]}, tail_thr={thresholds[1]})'
    )
    print_log(
        f'LongTailMAP: the {name} group {why}{thr_text}, so mAP_{name} '
        'is undefined (reported as nan). On a subset of a dataset, '
        'rebuild the count file from the subset and adjust head_thr / '
        "tail_thr (docs/data.md, 'Working on a subset').",
        logger='current',
        level=logging.WARNING,
    )


def read_per_class_csv(path: str) -> Dict[str, list]:
    """Read a per-class AP CSV written by :func:`write_per_class_csv`.

    Returns:
        dict: Column name -> list over classes; ``train_count`` entries are
        ``int`` or ``None``, ``ap`` entries ``float`` (NaN when empty).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: The header or a value is malformed (names the line).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'per-class AP file not found: {path}')
    table: Dict[str, list] = {k: [] for k in PER_CLASS_FIELDS}
    with open(path, newline='', encoding='utf-8') as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or tuple(header) != PER_CLASS_FIELDS:
            raise ValueError(
                f'{path}:1: expected the header '
                f'{",".join(PER_CLASS_FIELDS)}, got {header}'
            )
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != len(PER_CLASS_FIELDS):
                raise ValueError(
                    f'{path}:{line}: expected '
                    f'{len(PER_CLASS_FIELDS)} fields, got '
                    f'{len(row)}: {row}'
                )
            index, name, count, group, n_pos, ap = row
            if group not in GROUPS + ('',):
                raise ValueError(
                    f'{path}:{line}: group must be one of '
                    f'{GROUPS} or empty, got {group!r}'
                )
            try:
                table['class_index'].append(int(index))
                table['train_count'].append(int(count) if count else None)
                table['num_test_positives'].append(int(n_pos))
                table['ap'].append(float(ap) if ap else float('nan'))
            except ValueError as err:
                raise ValueError(f'{path}:{line}: {err}') from None
            table['class_name'].append(name)
            table['group'].append(group)
    if not table['class_index']:
        raise ValueError(f'{path}: no class rows')
    return table


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[object]]
) -> str:
    """A GitHub-flavoured markdown table (numbers right-aligned).

    Args:
        header (Sequence[str]): Column titles.
        rows (Sequence[Sequence]): Cells; converted with ``str``.

    Returns:
        str: The table, one line per row, without a trailing newline.
    """
    cells = [[str(c) for c in row] for row in rows]
    for row in cells:
        if len(row) != len(header):
            raise ValueError(
                f'markdown_table: row {row} has {len(row)} '
                f'cells, the header has {len(header)}'
            )
    widths = [
        max([len(h)] + [len(r[i]) for r in cells])
        for i, h in enumerate(header)
    ]

    def numeric(i):
        return bool(cells) and all(
            _is_number(r[i]) or r[i] == 'n/a' for r in cells
        )

    align = [numeric(i) for i in range(len(header))]
    lines = [
        '| ' + ' | '.join(h.ljust(w) for h, w in zip(header, widths)) + ' |'
    ]
    lines.append(
        '|'
        + '|'.join(
            ('-' * (w + 1) + ':') if a else ('-' * (w + 2))
            for w, a in zip(widths, align)
        )
        + '|'
    )
    for row in cells:
        lines.append(
            '| '
            + ' | '.join(
                c.rjust(w) if a else c.ljust(w)
                for c, w, a in zip(row, widths, align)
            )
            + ' |'
        )
    return '\n'.join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def group_rows(table: Dict[str, list]) -> List[Tuple[str, int, int, str]]:
    """``(group, classes, classes with an AP, mAP text)`` for all + groups.

    An empty group, or one without any class with an AP, gets ``'n/a'``
    instead of ``nan``.
    """
    ap = np.asarray(table['ap'], dtype=np.float64)
    rows = []
    for g in ('all',) + GROUPS:
        member = np.asarray([g == 'all' or gg == g for gg in table['group']])
        valid = member & ~np.isnan(ap)
        text = f'{ap[valid].mean():.4f}' if valid.any() else 'n/a'
        rows.append((g, int(member.sum()), int(valid.sum()), text))
    return rows
