"""Per-class results people paste and look at.

The one home of the per-class AP CSV (written by :class:`LongTailMAP` at
every evaluation, read back by ``tools/analysis/plot_per_class_ap.py``),
markdown tables, and the plot of per-class AP against the training count.

CSV columns (one row per class, in class order)::

    class_index, class_name, train_count, group, num_test_positives, ap

``train_count`` is empty when the grouping came without counts, ``ap`` is
empty for a class without a positive evaluation video.
"""

import csv
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

GROUPS = ('head', 'medium', 'tail')
PER_CLASS_FIELDS = (
    'class_index',
    'class_name',
    'train_count',
    'group',
    'num_test_positives',
    'ap',
)
# Shading and point colours of the groups in the plot.
GROUP_COLORS = {'head': '#4C72B0', 'medium': '#55A868', 'tail': '#C44E52'}


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


def group_boundaries(
    counts: Sequence[int],
    groups: Sequence[str],
    thresholds: Optional[Tuple[int, int]] = None,
) -> Tuple[float, float]:
    """Training-count boundaries (tail | medium, medium | head) to shade.

    With ``thresholds = (head_thr, tail_thr)`` the boundaries are
    ``tail_thr + 0.5`` and ``head_thr + 0.5`` (tail is ``count <=
    tail_thr``, head ``count > head_thr``). Without, each boundary lies
    half-way (in log space) between the neighbouring groups' extreme counts.
    """
    if thresholds is not None:
        head_thr, tail_thr = thresholds
        return tail_thr + 0.5, head_thr + 0.5
    by_group = {
        g: [c for c, gg in zip(counts, groups) if gg == g and c]
        for g in GROUPS
    }

    def between(lower, upper):
        lo = max(by_group[lower]) if by_group[lower] else None
        hi = min(by_group[upper]) if by_group[upper] else None
        if lo is None and hi is None:
            return None
        if lo is None:
            return hi / 1.5
        if hi is None:
            return lo * 1.5
        return math.sqrt(lo * hi)

    low = between('tail', 'medium')
    high = between('medium', 'head')
    if low is None:
        low = high
    if high is None:
        high = low
    if low is None:  # no counts at all
        raise ValueError('group_boundaries: no class with a training count')
    return low, high


def plot_per_class_ap(
    table: Dict[str, list],
    out_file: Optional[str] = None,
    thresholds: Optional[Tuple[int, int]] = None,
    title: Optional[str] = None,
):
    """Per-class AP against training count: log x, groups shaded.

    One point per class that has both a training count ``> 0`` and an AP
    (classes without an evaluation positive have none); the head / medium
    / tail ranges of the x axis are shaded and each group's mean AP (over
    its classes with an AP, i.e. the reported group mAP) is drawn as a
    horizontal segment over its range. Uses matplotlib's object API with
    the Agg canvas (no pyplot state, no display needed).

    Args:
        table (dict): Columns as returned by :func:`read_per_class_csv`.
        out_file (str, optional): Write the figure here (``.png``, ...).
        thresholds (tuple[int, int], optional): ``(head_thr, tail_thr)``;
            inferred from the groups when not given.
        title (str, optional): Axes title.

    Returns:
        matplotlib.figure.Figure: The figure. ``fig.axes[0].collections[0]``
        is the scatter of the plotted classes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = table['train_count']
    ap = np.asarray(table['ap'], dtype=np.float64)
    groups = table['group']
    if all(c is None for c in counts):
        raise ValueError(
            'plot_per_class_ap: the table has no training '
            'counts (train_count is empty for every class)'
        )
    count_arr = np.asarray(
        [c if c is not None else 0 for c in counts], dtype=np.float64
    )
    shown = (count_arr > 0) & ~np.isnan(ap)
    low, high = group_boundaries(
        [int(c) for c in count_arr], groups, thresholds
    )
    xmin = min(count_arr[count_arr > 0].min(), low) / 1.5
    xmax = max(count_arr.max(), high) * 1.5

    fig = Figure(figsize=(7, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xscale('log')
    spans = {'tail': (xmin, low), 'medium': (low, high), 'head': (high, xmax)}
    colors = [GROUP_COLORS.get(g, '#777777') for g in groups]
    ax.scatter(
        count_arr[shown],
        ap[shown],
        c=[c for c, s in zip(colors, shown) if s],
        s=14,
        alpha=0.8,
        linewidths=0,
        zorder=3,
    )
    for g in reversed(GROUPS):  # legend from left (tail) to right
        lo, hi = spans[g]
        ax.axvspan(lo, hi, color=GROUP_COLORS[g], alpha=0.10, zorder=0)
        member = np.asarray([gg == g for gg in groups]) & ~np.isnan(ap)
        n_members = sum(gg == g for gg in groups)
        if member.any():
            mean = float(ap[member].mean())
            ax.hlines(
                mean,
                lo,
                hi,
                colors=GROUP_COLORS[g],
                linewidth=2,
                zorder=4,
                label=f'{g}: mAP {mean:.3f} ({n_members} classes)',
            )
        else:
            ax.plot(
                [],
                [],
                color=GROUP_COLORS[g],
                label=f'{g}: no class with an AP ({n_members} classes)',
            )
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel('training videos of the class (log scale)')
    ax.set_ylabel('average precision')
    hidden = int((~shown).sum())
    title = title or 'per-class AP vs. training count'
    if hidden:
        title += f' ({hidden} of {len(ap)} classes without AP or count)'
    ax.set_title(title, fontsize=9)
    ax.legend(loc='lower right', fontsize=8)
    ax.grid(True, which='major', alpha=0.3)
    fig.tight_layout()
    if out_file is not None:
        parent = osp.dirname(out_file)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fig.savefig(out_file)
    return fig


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
