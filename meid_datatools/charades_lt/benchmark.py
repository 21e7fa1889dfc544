"""Build a long-tailed benchmark from the official Charades split.

Target counts (:func:`target_counts`), greedy multi-label subsampling
(:func:`subsample_long_tailed`), the seeded validation / test draw
(:func:`split_eval`), statistics and the files
(:func:`build_benchmark`); the method is described in
:mod:`meid_datatools.charades_lt`.
"""

import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from meid_mmaction.datasets.class_groups import (
    counts_from_labels,
    split_groups,
    write_count_file,
    write_label_list,
)

from .readers import read_charades_csv, read_classes

PRESETS: Dict[str, dict] = {
    # Targets follow the released CharadesLT lists (CharadesLT_train.txt):
    # training counts 556..9 (imbalance ratio 61.8; the paper's table prints
    # 618), 41 / 81 / 35 classes, 2,213 / 469 / 1,012 videos, 6.28 labels
    # per training video. The exponent was chosen on the official Charades
    # CSVs (docs/data.md has what it gives).
    'charades': dict(
        max_count=556,
        min_count=9,
        profile='natural',
        exponent=0.75,
        num_train=2213,
        size_weight=30.0,
        num_val=469,
        num_test=1012,
    ),
    # The released CharadesEgoLT lists: counts 538..10 (ratio 53.8),
    # 43 / 89 / 25 classes, 1,553 / 764 / 748 videos, 8.87 labels per
    # training video.
    'charadesego': dict(
        max_count=538,
        min_count=10,
        profile='natural',
        exponent=0.9,
        num_train=1553,
        size_weight=30.0,
        num_val=764,
        num_test=748,
    ),
}


def target_counts(
    counts: Sequence[int],
    max_count: float,
    min_count: float,
    profile: str = 'natural',
    exponent: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Target training count per class, ``[C]`` float.

    Args:
        counts: per-class video counts of the official training split,
            ``[C]``.
        max_count, min_count (float): targets of the most and least
            frequent class (``1 <= min_count <= max_count``).
        profile (str): ``'natural'``, ``'exp'`` or ``'zipf'`` (module
            docstring).
        exponent (float): ``p`` of the profile.
        seed (int): seeds the order of classes with equal counts.
    """
    counts = np.asarray(counts, dtype=np.float64)
    num_classes = counts.shape[0]
    if num_classes < 1:
        raise ValueError('need at least one class, got none')
    if not 1 <= min_count <= max_count:
        raise ValueError(
            'need 1 <= min_count <= max_count, got '
            f'min_count={min_count}, max_count={max_count}'
        )
    if exponent <= 0:
        raise ValueError(f'exponent must be > 0, got {exponent}')
    if profile == 'natural':
        if counts.min() < 1:
            zero = np.nonzero(counts < 1)[0].tolist()
            raise ValueError(
                f'profile "natural" needs every class in the official '
                f'training split; classes {zero[:10]} have no video'
            )
        spread = math.log(counts.max() / counts.min())
        u = (
            np.log(counts.max() / counts) / spread
            if spread > 0
            else np.zeros_like(counts)
        )
        return max_count * (min_count / max_count) ** (u**exponent)
    r = np.arange(num_classes, dtype=np.float64)
    if profile == 'exp':
        x = r / max(num_classes - 1, 1)
        by_rank = max_count * (min_count / max_count) ** (x**exponent)
    elif profile == 'zipf':
        by_rank = np.maximum(min_count, max_count * (r + 1) ** (-exponent))
    else:
        raise ValueError(
            f'unknown profile {profile!r}; expected "natural", "exp" or "zipf"'
        )
    tie = np.random.default_rng(seed).permutation(num_classes)
    order = np.lexsort((tie, -counts))  # most frequent first
    targets = np.empty(num_classes, dtype=np.float64)
    targets[order] = by_rank
    return targets


def _label_matrix(
    labels: Sequence[Sequence[int]], num_classes: int
) -> np.ndarray:
    """Multi-hot matrix ``[V, C]`` float64."""
    m = np.zeros((len(labels), num_classes), dtype=np.float64)
    for i, label in enumerate(labels):
        m[i, list(label)] = 1.0
    return m


def subsample_long_tailed(
    labels: Sequence[Sequence[int]],
    targets: np.ndarray,
    num_videos: Optional[int] = None,
    size_weight: float = 10.0,
    seed: int = 0,
    max_moves: int = 200000,
) -> List[int]:
    """Choose training videos whose class counts follow ``targets``.

    Args:
        labels: class indices per candidate video (``V`` videos).
        targets (np.ndarray): target count per class, ``[C]``.
        num_videos (int, optional): requested subset size ``N``.
        size_weight (float): weight ``w`` of the size term (in units of one
            class's squared log error); unused without ``num_videos``.
        seed (int): seed of the tie-breaking priorities.
        max_moves (int): cap on refinement moves (a safety net).

    Returns:
        list[int]: sorted indices into ``labels`` of the chosen videos.
    """
    targets = np.asarray(targets, dtype=np.float64)
    num_classes = targets.shape[0]
    m = _label_matrix(labels, num_classes)  # [V, C]
    lt = np.log1p(targets)
    use_size = num_videos is not None and size_weight > 0
    ln = math.log1p(num_videos) if use_size else 0.0
    prio = np.random.default_rng(seed).permutation(len(labels))
    chosen = np.zeros(len(labels), dtype=bool)
    n = np.zeros(num_classes, dtype=np.float64)

    def size_delta(step: int) -> float:
        if not use_size:
            return 0.0
        s = chosen.sum()
        return size_weight * (
            (math.log1p(s + step) - ln) ** 2 - (math.log1p(s) - ln) ** 2
        )

    def class_delta(step: int) -> np.ndarray:
        # change of each class's error term when its count moves by step
        new = np.maximum(n + step, 0)
        return (np.log1p(new) - lt) ** 2 - (np.log1p(n) - lt) ** 2

    def best(mask: np.ndarray, step: int) -> Tuple[int, float]:
        idx = np.nonzero(mask)[0]
        if idx.size == 0:
            return -1, 0.0
        delta = m[idx] @ class_delta(step) + size_delta(step)
        k = np.lexsort((prio[idx], delta))[0]
        return int(idx[k]), float(delta[k])

    # 1. construction, rarest target first
    class_order = np.lexsort(
        (np.random.default_rng(seed + 1).permutation(num_classes), targets)
    )
    for c in class_order:
        while n[c] < targets[c]:
            v, d = best(~chosen & (m[:, c] > 0), +1)
            if v < 0 or d >= 0:
                break
            chosen[v] = True
            n += m[v]
    # 2. refinement: best single add / remove while it lowers E
    for _ in range(max_moves):
        va, da = best(~chosen, +1)
        vr, dr = best(chosen, -1)
        if min(da, dr) >= -1e-12:
            break
        if da <= dr:
            chosen[va] = True
            n += m[va]
        else:
            chosen[vr] = False
            n -= m[vr]
    return np.nonzero(chosen)[0].tolist()


def split_eval(
    num_videos: int, num_val: int, num_test: int, seed: int = 0
) -> Tuple[List[int], List[int]]:
    """Seeded random disjoint draw of validation and test videos.

    Returns:
        tuple: sorted index lists ``(val, test)`` into the official test
        split.
    """
    if num_val < 0 or num_test < 0 or num_val + num_test > num_videos:
        raise ValueError(
            f'cannot draw num_val={num_val} + num_test={num_test} videos '
            f'from the {num_videos} official test videos with an action'
        )
    perm = np.random.default_rng(seed).permutation(num_videos)
    return (
        sorted(perm[:num_val].tolist()),
        sorted(perm[num_val : num_val + num_test].tolist()),
    )


def compute_stats(
    train: Sequence[Sequence[int]],
    val: Sequence[Sequence[int]],
    test: Sequence[Sequence[int]],
    class_names: Sequence[str],
    head_thr: int = 100,
    tail_thr: int = 20,
) -> dict:
    """Benchmark statistics (JSON-serialisable)."""
    num_classes = len(class_names)
    tr = counts_from_labels(train, num_classes)
    te = counts_from_labels(test, num_classes)
    va = counts_from_labels(val, num_classes)
    groups = split_groups(tr, head_thr, tail_thr)
    head, tail = len(groups['head']), len(groups['tail'])
    positive = tr[tr > 0]
    every = [len(lab) for lab in list(train) + list(val) + list(test)]
    return dict(
        num_classes=num_classes,
        head_thr=head_thr,
        tail_thr=tail_thr,
        num_head=head,
        num_medium=len(groups['medium']),
        num_tail=tail,
        num_train=len(train),
        num_val=len(val),
        num_test=len(test),
        labels_per_video_train=float(np.mean([len(x) for x in train]))
        if len(train)
        else 0.0,
        labels_per_video_all=float(np.mean(every)) if every else 0.0,
        max_train_count=int(tr.max()),
        min_train_count=int(tr.min()),
        imbalance_ratio=float(tr.max() / tr.min())
        if tr.min() > 0
        else float('inf'),
        classes_without_train=[int(c) for c in np.nonzero(tr == 0)[0]],
        classes_without_val_positive=[int(c) for c in np.nonzero(va == 0)[0]],
        classes_without_test_positive=[int(c) for c in np.nonzero(te == 0)[0]],
        min_positive_train_count=int(positive.min()) if positive.size else 0,
        train_counts=tr.tolist(),
    )


def format_stats(stats: dict) -> str:
    """The statistics table as printed by ``tools/data/build_charades_lt``."""
    rows = [
        ('classes', f'{stats["num_classes"]}'),
        (
            f'head / medium / tail (>{stats["head_thr"]} / '
            f'<={stats["tail_thr"]})',
            f'{stats["num_head"]} / '
            f'{stats["num_medium"]} / {stats["num_tail"]}',
        ),
        (
            '#train / #val / #test',
            f'{stats["num_train"]} / {stats["num_val"]} / {stats["num_test"]}',
        ),
        ('labels per video (train)', f'{stats["labels_per_video_train"]:.2f}'),
        (
            'labels per video (all splits)',
            f'{stats["labels_per_video_all"]:.2f}',
        ),
        (
            'max / min training count',
            f'{stats["max_train_count"]} / {stats["min_train_count"]}',
        ),
        ('imbalance ratio (max / min)', f'{stats["imbalance_ratio"]:.1f}'),
        (
            'classes without a training video',
            _short(stats['classes_without_train']),
        ),
        (
            'classes without a val positive',
            _short(stats['classes_without_val_positive']),
        ),
        (
            'classes without a test positive',
            _short(stats['classes_without_test_positive']),
        ),
    ]
    for key in ('dropped_train_no_action', 'dropped_test_no_action'):
        if key in stats:
            rows.append((key.replace('_', ' '), str(stats[key])))
    width = max(len(k) for k, _ in rows)
    return '\n'.join(f'{k:<{width}}  {v}' for k, v in rows)


def _short(items: Sequence[int]) -> str:
    if not items:
        return '0'
    shown = ', '.join(f'c{c:03d}' for c in items[:10])
    more = ' ...' if len(items) > 10 else ''
    return f'{len(items)} ({shown}{more})'


def build_benchmark(
    train_csv: str,
    test_csv: str,
    classes_file: str,
    out_dir: Optional[str] = None,
    max_count: float = 556,
    min_count: float = 9,
    profile: str = 'natural',
    exponent: float = 0.75,
    num_train: Optional[int] = 2213,
    size_weight: float = 30.0,
    num_val: int = 469,
    num_test: int = 1012,
    head_thr: int = 100,
    tail_thr: int = 20,
    seed: int = 0,
    reference_counts: Optional[Sequence[int]] = None,
) -> dict:
    """Build the benchmark; write it to ``out_dir`` if given.

    The defaults are ``PRESETS['charades']``; see
    :mod:`meid_datatools.charades_lt` for the options.

    Args:
        reference_counts (Sequence[int], optional): ``[C]`` per-class
            training counts to use as the targets directly (e.g. those of a
            released training list), instead of the profile given by
            ``max_count``, ``min_count``, ``profile`` and ``exponent``.

    Returns:
        dict: the statistics (also written to ``<out_dir>/stats.json``),
        with the options used under ``'options'``.
    """
    names = read_classes(classes_file)
    num_classes = len(names)
    tr_ids, tr_labels, tr_drop = read_charades_csv(train_csv, num_classes)
    te_ids, te_labels, te_drop = read_charades_csv(test_csv, num_classes)
    if not tr_ids:
        raise ValueError(f'{train_csv}: no video with an action')
    if reference_counts is not None:
        targets = np.asarray(reference_counts, dtype=np.float64)
        if targets.shape != (num_classes,) or (targets < 0).any():
            raise ValueError(
                f'reference_counts must be {num_classes} counts >= 0, got '
                f'shape {targets.shape}'
            )
    else:
        targets = target_counts(
            counts_from_labels(tr_labels, num_classes),
            max_count,
            min_count,
            profile,
            exponent,
            seed,
        )
    sel = subsample_long_tailed(
        tr_labels, targets, num_train, size_weight=size_weight, seed=seed
    )
    val_idx, test_idx = split_eval(len(te_ids), num_val, num_test, seed)
    train = ([tr_ids[i] for i in sel], [tr_labels[i] for i in sel])
    val = ([te_ids[i] for i in val_idx], [te_labels[i] for i in val_idx])
    test = ([te_ids[i] for i in test_idx], [te_labels[i] for i in test_idx])
    stats = compute_stats(train[1], val[1], test[1], names, head_thr, tail_thr)
    stats['dropped_train_no_action'] = len(tr_drop)
    stats['dropped_test_no_action'] = len(te_drop)
    stats['target_counts'] = [round(float(t), 3) for t in targets]
    stats['options'] = dict(
        train_csv=train_csv,
        test_csv=test_csv,
        classes_file=classes_file,
        max_count=max_count,
        min_count=min_count,
        profile=profile,
        exponent=exponent,
        num_train=num_train,
        size_weight=size_weight,
        num_val=num_val,
        num_test=num_test,
        head_thr=head_thr,
        tail_thr=tail_thr,
        seed=seed,
        reference_counts=reference_counts is not None,
    )
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        write_label_list(osp.join(out_dir, 'train.lst'), *train)
        write_label_list(osp.join(out_dir, 'val.lst'), *val)
        write_label_list(osp.join(out_dir, 'test.lst'), *test)
        write_count_file(
            osp.join(out_dir, 'count-labels-train.lst'),
            names,
            stats['train_counts'],
        )
        with open(osp.join(out_dir, 'stats.json'), 'w', encoding='utf-8') as f:
            json.dump(stats, f, indent=2)
    return stats
