"""Build a long-tailed multi-label benchmark from Charades / CharadesEgo.

Input: the official annotation CSV pair (``*_train.csv``, ``*_test.csv``,
columns ``id``, ``actions``, ...) and the classes file (``c000 Name``).
Output (``docs/design.md`` formats): ``train.lst`` / ``val.lst`` /
``test.lst`` (``<video id> <label>[,<label>...]``), the training class-count
file ``count-labels-train.lst`` (``<class name> <class index> <count>``) and
``stats.json``.

Target profile
--------------
Classes are ranked by their training frequency in the official split, so
the benchmark keeps the natural order of head and tail. With ``n_max``,
``n_min`` the targets of the most and least frequent class and ``p`` the
exponent, class ``c`` gets the target count::

    natural: t_c = n_max * (n_min / n_max) ** (u_c ** p),
             u_c = log(N_max / N_c) / log(N_max / N_min)
    exp:     t_r = n_max * (n_min / n_max) ** (x_r ** p),  x_r = r / (C - 1)
    zipf:    t_r = max(n_min, n_max * (r + 1) ** (-p))

``N_c`` is the official training count of class ``c`` and ``r`` its rank
(ties broken by a seeded permutation). ``natural`` (the default) keeps the
shape of the official distribution and stretches it to the requested
imbalance ratio (``p = 1``: a power of the official counts; ``p > 1`` keeps
more classes near the head). ``exp`` with ``p = 1`` is log-linear in rank.

Multi-label subsampling
-----------------------
A video brings all its labels, so per-class counts cannot be set one class at
a time. We choose the training subset ``S`` that (greedily) minimises one
objective, the squared error between achieved and target counts in log
space, plus an optional term that pulls ``|S|`` to a requested size ``N``::

    E(S) = sum_c (log(1 + n_c(S)) - log(1 + t_c)) ** 2
           + w * (log(1 + |S|) - log(1 + N)) ** 2

The log makes a miss of 2 videos on a 4-video tail class as costly as a
miss of 100 on a 200-video head class, i.e. the imbalance profile, not the
raw counts, is what is matched.

1. Construction, rarest target first: for each class in increasing target
   order, while it is below its target, add the unselected video carrying it
   whose addition lowers ``E`` most (it prefers videos whose other labels are
   still below target); stop when no such video lowers ``E``. Rare classes go
   first because they have the fewest candidate videos; the frequent classes
   then fill up with videos that avoid the already full rare ones.
2. Refinement: repeatedly apply the single best move (add one video or
   remove one) while it lowers ``E``. ``E`` strictly decreases, so this ends.

Ties are broken by a seeded random priority: the result is deterministic for
a seed. Validation and test videos are a seeded random draw from the official
test split (no subsampling: their label distribution stays natural). Videos
without any action are dropped and counted (never silently).
"""

from .benchmark import (
    PRESETS,
    build_benchmark,
    compute_stats,
    format_stats,
    split_eval,
    subsample_long_tailed,
    target_counts,
)
from .readers import (
    parse_action_segments,
    parse_actions,
    read_charades_csv,
    read_charades_timelines,
    read_classes,
)

__all__ = [
    'PRESETS',
    'build_benchmark',
    'compute_stats',
    'format_stats',
    'parse_action_segments',
    'parse_actions',
    'read_charades_csv',
    'read_charades_timelines',
    'read_classes',
    'split_eval',
    'subsample_long_tailed',
    'target_counts',
]
