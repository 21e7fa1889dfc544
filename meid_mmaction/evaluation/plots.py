"""The plot of per-class AP against the training count.

It draws a per-class table as :func:`~.reports.read_per_class_csv` reads it
(``tools/analysis/plot_per_class_ap.py``, ``tools/test.py``).
"""

import math
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

GROUPS = ('head', 'medium', 'tail')
# Shading and point colours of the groups in the plot.
GROUP_COLORS = {'head': '#4C72B0', 'medium': '#55A868', 'tail': '#C44E52'}


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
