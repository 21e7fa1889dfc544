"""Labels and action timelines of the synthetic generator.

Class counts (:func:`power_law_counts`, steps 1-2 of the model in
:mod:`meid_datatools.synthetic`), multi-label assignment with exact
per-class counts (step 3), synthetic segments (step 5) and real Charades
timelines (:func:`charades_timeline_plan`).
"""

import math
import os.path as osp
from typing import Any, Dict, Optional

import numpy as np

from .presets import SyntheticLTConfig


def power_law_counts(n_max: int, n_min: int, num: int) -> np.ndarray:
    """``[num]`` int64 counts ``round(n_max (n_min/n_max)^(r/(num-1)))``."""
    pos = np.arange(num, dtype=np.float64) / max(num - 1, 1)
    return np.rint(n_max * (n_min / n_max) ** pos).astype(np.int64)


def _eval_counts(
    train_counts: np.ndarray, m_max: int, m_min: int, temper: float
) -> np.ndarray:
    rel = train_counts / train_counts.max()
    return np.maximum(m_min, np.rint(m_max * rel**temper)).astype(np.int64)


def _assign_labels(
    counts: np.ndarray,
    cfg: SyntheticLTConfig,
    split: str,
    rng: np.random.Generator,
    train_counts: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Multi-hot ``[N, C]`` bool with exactly ``counts[c]`` videos per class.

    Empty rows (step 3 of :mod:`meid_datatools.synthetic`) are removed. With
    ``cfg.tail_with_head`` a non-head class (training count ``<=
    head_thr``, from ``train_counts``) picks its videos uniformly among
    those that already have a head class and fewer than
    ``max_labels_per_video`` labels (planned sizes are then not kept).
    """
    total = int(counts.sum())
    k_max = cfg.max_labels_per_video
    n_videos = max(1, int(round(total / cfg.labels_per_video)))
    if n_videos < counts.max():
        raise ValueError(
            f'{split}: labels_per_video={cfg.labels_per_video} gives '
            f'{n_videos} videos, fewer than the {int(counts.max())} videos '
            'the most frequent class needs; lower labels_per_video'
        )
    sizes = 1 + np.minimum(
        rng.poisson(cfg.labels_per_video - 1.0, n_videos), k_max - 1
    )
    diff = total - int(sizes.sum())
    while diff != 0:
        ok = np.flatnonzero(sizes < k_max if diff > 0 else sizes > 1)
        if ok.size == 0:
            raise ValueError(
                f'{split}: cannot spread {total} labels over {n_videos} '
                f'videos with 1..{k_max} labels each; adjust '
                'labels_per_video / max_labels_per_video'
            )
        pick = rng.choice(ok, size=min(abs(diff), ok.size), replace=False)
        sizes[pick] += 1 if diff > 0 else -1
        diff = total - int(sizes.sum())
    cap = sizes.astype(np.float64)
    multi_hot = np.zeros((n_videos, counts.size), dtype=bool)
    head = train_counts > cfg.head_thr if train_counts is not None else None
    for c in np.argsort(-counts, kind='stable'):
        n_c = int(counts[c])
        if n_c == 0:
            continue
        if cfg.tail_with_head and not head[c]:
            # a non-head class joins videos that already have a head class
            # (and fewer than k_max labels), whatever their planned size
            cand = np.flatnonzero(
                multi_hot[:, head].any(axis=1)
                & (multi_hot.sum(axis=1) < k_max)
            )
            if cand.size >= n_c:
                chosen = rng.choice(cand, size=n_c, replace=False)
                multi_hot[chosen, c] = True
                cap[chosen] -= 1
                continue
        free = np.flatnonzero(cap > 0)
        if free.size >= n_c:
            p = cap[free] / cap[free].sum()
            chosen = rng.choice(free, size=n_c, replace=False, p=p)
        else:  # rare: not enough capacity left, use other videos too
            full = np.flatnonzero(cap <= 0)
            extra = rng.choice(full, size=n_c - free.size, replace=False)
            chosen = np.concatenate([free, extra])
        multi_hot[chosen, c] = True
        cap[chosen] -= 1
    return multi_hot[multi_hot.any(axis=1)]


def _segments(
    multi_hot: np.ndarray,
    frames: np.ndarray,
    headness: np.ndarray,
    cfg: SyntheticLTConfig,
    rng: np.random.Generator,
    is_head: Optional[np.ndarray] = None,
) -> Dict[str, np.ndarray]:
    """One segment per (video, class) pair, arrays of length ``P``.

    With ``tail_placement='avoid_head'`` the segments of non-head classes
    (``is_head`` ``[C]`` False) avoid the frames of head segments
    (:func:`_avoid_head`)."""
    vid, cls = np.nonzero(multi_hot)
    h = headness[cls]
    frac = cfg.seg_frac_tail + (cfg.seg_frac_head - cfg.seg_frac_tail) * h
    j = cfg.seg_len_jitter
    t_i = frames[vid]
    length = np.rint(t_i * frac * rng.uniform(1 - j, 1 + j, vid.size))
    length = np.clip(length, cfg.min_seg_frames, t_i).astype(np.int64)
    start = np.floor(rng.random(vid.size) * (t_i - length + 1))
    start = start.astype(np.int64)
    amp = cfg.amp_tail + (cfg.amp_head - cfg.amp_tail) * h
    ja = cfg.amp_jitter
    amp = amp * rng.uniform(1 - ja, 1 + ja, vid.size)
    if cfg.tail_placement == 'avoid_head':
        start = _avoid_head(vid, start, length, is_head[cls], frames, rng)
    return dict(video=vid, cls=cls, start=start, length=length, amp=amp)


def _avoid_head(
    vid: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    head: np.ndarray,
    frames: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Move every non-head segment to the start where it overlaps the
    fewest frames covered by its video's head segments and by the
    non-head segments placed before it (ties at random)."""
    start = start.copy()
    order = np.argsort(vid, kind='stable')
    bounds = np.flatnonzero(np.diff(vid[order])) + 1
    for segs in np.split(order, bounds):
        t = int(frames[vid[segs[0]]])
        busy = np.zeros(t + 1)
        for p in segs[head[segs]]:
            busy[start[p] : start[p] + length[p]] += 1.0
        for p in segs[~head[segs]]:
            n = int(length[p])
            csum = np.concatenate([[0.0], np.cumsum(busy[:t])])
            overlap = csum[n : t + 1] - csum[: t - n + 1]
            overlap = overlap + 0.5 * rng.random(overlap.size)
            start[p] = int(np.argmin(overlap))
            busy[start[p] : start[p] + n] += 1.0
    return start


def charades_timeline_plan(
    cfg: SyntheticLTConfig, charades_dir: Optional[str], seed: int
) -> Dict[str, Any]:
    """Videos and action timelines of a CharadesLT-like subset.

    The training subset follows the CharadesLT builder's profile
    ``cfg.charades_profile`` (:mod:`meid_datatools.charades_lt`: target
    counts and greedy multi-label subsampling of the official training
    videos), its sizes and largest target count scaled by
    ``cfg.charades_scale``; validation and test videos are a seeded disjoint
    draw from the official test videos.

    Returns:
        dict: ``train_counts`` ``[C]``, ``counts`` per split and, per split,
        ``ids``, ``labels``, ``lengths`` (seconds) and ``segments``
        (``(class, start s, end s)`` lists).
    """
    from ..charades_lt import PRESETS as LT_PRESETS
    from ..charades_lt import (
        read_charades_timelines,
        split_eval,
        subsample_long_tailed,
        target_counts,
    )

    if not charades_dir:
        raise ValueError(
            "timeline_source='charades' needs charades_dir "
            '(the directory of Charades_v1_train.csv and '
            'Charades_v1_test.csv)'
        )
    if cfg.charades_profile not in LT_PRESETS:
        raise ValueError(
            f'charades_profile={cfg.charades_profile!r} is not '
            f'one of {sorted(LT_PRESETS)}'
        )
    paths = {}
    for split in ('train', 'test'):
        paths[split] = osp.join(charades_dir, f'Charades_v1_{split}.csv')
        if not osp.isfile(paths[split]):
            raise FileNotFoundError(
                f'{paths[split]} not found (charades_dir={charades_dir!r} '
                'must hold the official Charades CSVs)'
            )
    prof = dict(LT_PRESETS[cfg.charades_profile])
    for key in ('max_count', 'num_train', 'num_val', 'num_test'):
        prof[key] = max(1, int(round(prof[key] * cfg.charades_scale)))
    num_c = cfg.num_classes
    read = {k: read_charades_timelines(p, num_c) for k, p in paths.items()}

    def labels_of(segments):
        return [sorted({c for c, _, _ in segs}) for segs in segments]

    tr_labels = labels_of(read['train'][2])
    counts = np.zeros(num_c)
    for lab in tr_labels:
        counts[lab] += 1
    if (counts < 1).any():
        raise ValueError(
            f'{paths["train"]}: classes {np.flatnonzero(counts < 1)[:10]} '
            'have no training video'
        )
    targets = target_counts(
        counts,
        prof['max_count'],
        prof['min_count'],
        prof['profile'],
        prof['exponent'],
        seed=seed,
    )
    chosen = subsample_long_tailed(
        tr_labels, targets, prof['num_train'], prof['size_weight'], seed=seed
    )
    te_labels = labels_of(read['test'][2])
    val_idx, test_idx = split_eval(
        len(te_labels), prof['num_val'], prof['num_test'], seed=seed
    )
    out: Dict[str, Any] = dict(counts={})
    for split, src, idx in (
        ('train', 'train', chosen),
        ('validate', 'test', val_idx),
        ('test', 'test', test_idx),
    ):
        ids, lengths, segments = read[src]
        rows = dict(
            ids=[ids[i] for i in idx],
            lengths=[lengths[i] for i in idx],
            segments=[segments[i] for i in idx],
        )
        rows['labels'] = labels_of(rows['segments'])
        split_counts = np.zeros(num_c, dtype=np.int64)
        for lab in rows['labels']:
            split_counts[lab] += 1
        out[split] = rows
        out['counts'][split] = split_counts
    out['train_counts'] = out['counts']['train']
    return out


def _timeline_segments(
    rows: Dict[str, Any],
    cfg: SyntheticLTConfig,
    headness: np.ndarray,
    rng: np.random.Generator,
):
    """``(multi_hot, frames, segments)`` of real timelines: ``T_i`` frames
    spread uniformly over the video's duration; an action covers the
    frames whose centre time lies in ``[start, end)`` (at least the frame
    nearest to its start). Amplitudes follow the class headness as in the
    synthetic segments."""
    n = len(rows['ids'])
    frames = rng.integers(cfg.min_frames, cfg.max_frames + 1, n)
    multi_hot = np.zeros((n, cfg.num_classes), dtype=bool)
    vid, cls, start, length = [], [], [], []
    for i, (dur, segs) in enumerate(zip(rows['lengths'], rows['segments'])):
        t = int(frames[i])
        for c, t0, t1 in segs:
            f0 = min(int(math.ceil(t0 / dur * t - 0.5)), t - 1)
            f1 = max(int(math.ceil(t1 / dur * t - 0.5)), f0 + 1)
            vid.append(i)
            cls.append(c)
            start.append(f0)
            length.append(min(f1, t) - f0)
            multi_hot[i, c] = True
    vid, cls = np.asarray(vid), np.asarray(cls)
    h = headness[cls]
    amp = cfg.amp_tail + (cfg.amp_head - cfg.amp_tail) * h
    ja = cfg.amp_jitter
    amp = amp * rng.uniform(1 - ja, 1 + ja, vid.size)
    seg = dict(
        video=vid,
        cls=cls,
        start=np.asarray(start, dtype=np.int64),
        length=np.asarray(length, dtype=np.int64),
        amp=amp,
    )
    return multi_hot, frames, seg
