r"""Synthetic long-tailed multi-label per-frame feature datasets.

:func:`generate_synthetic_lt` writes a dataset in the on-disk format of
``docs/design.md`` (VideoLT layout)::

    <out>/train.lst, validate.lst, test.lst   <video id> <label>[,<label>...]
    <out>/count-labels-train.lst              <class name> <index> <count>
    <out>/features/<video id>.npy             [T_i, D] float32
    <out>/segments.csv                        the ground-truth action segments
    <out>/meta.json                           parameters, seed, statistics

It is small enough for a CPU demo and built so that the ingredients of MEID
(frame attention, complementary frame selection, motion, head-to-tail
distillation) have something to work on.

Generative model
----------------
Classes ``c = 0..C-1``; every class is given a *frequency position*
``r_c`` (a random permutation of ``0..C-1`` when ``shuffle_classes``).

1. Training counts (exact, by construction)::

       n_c = round(n_max * (n_min / n_max) ** (r_c / (C - 1)))

   so the imbalance ratio ``max n_c / min n_c = n_max / n_min``. A class's
   *headness* is ``f_c = log(n_c / n_min) / log(n_max / n_min)`` in
   ``[0, 1]`` (1 = most frequent).

2. Validation / test counts are a tempered copy of the same law with a
   guaranteed minimum, so that every class has positives to evaluate::

       m_c = max(m_min, round(m_max * (n_c / n_max) ** tau)),  tau < 1.

3. Videos: with ``L = sum_c n_c`` label instances and a target of ``k``
   labels per video, ``N = round(L / k)`` videos get label-set sizes
   ``k_i = 1 + min(Poisson(k - 1), k_max - 1)``, adjusted by +-1 until
   ``sum_i k_i = L``. Classes, most frequent first, pick ``n_c`` distinct
   videos without replacement with probability proportional to the videos'
   remaining capacity, so every class has exactly ``n_c`` videos (videos
   left without a label, possible only when capacities cannot be matched
   exactly, are dropped and reported).

4. Class prototypes with shared components (confusable classes). Classes
   are put at random into families of ``family_size``; with random unit
   vectors ``u_c`` (own) and ``g_j`` (family ``j``) and share ``s``::

       mu_c = normalise(sqrt(1 - s) u_c + sqrt(s) g_family(c)),   |mu_c| = 1

   and a class *temporal signature*: a drift direction ``delta_c`` (own
   random direction, ``|delta_c| = drift_norm``), which is not shared, so
   motion separates classes that appearance confuses.

5. Segments: every (video i, class c) pair is one segment of length
   ``l = clip(round(T_i * (lambda_t + (lambda_h - lambda_t) f_c) * U(1-j,
   1+j)), l_min, T_i)`` frames at a uniform start, with amplitude
   ``a = (a_t + (a_h - a_t) f_c) * U(1-j_a, 1+j_a)``: head classes get long,
   strong segments; tail classes short, weak ones. Segments of different
   classes overlap freely (tail segments often lie inside head ones).
   ``T_i ~ U{T_min..T_max}``.

6. Frame features, ``t = 0..T_i-1`` and ``tau_t = (t - start) / (l - 1)``
   the relative position inside a segment::

       x_{i,t} = b_i + sum_{c active at t} a_{i,c} (mu_c
                                         + (tau_t - 1/2) delta_c) + e_{i,t}

   with a per-video background ``b_i ~ N(0, sigma_b^2 / D I)`` (static
   scene) and AR(1) noise along time, ``e_{i,0} = z_{i,0}``,
   ``e_{i,t} = rho e_{i,t-1} + sqrt(1 - rho^2) z_{i,t}``,
   ``z ~ N(0, sigma^2 / D I)`` (real features are smooth in time, so
   adjacent differences are not swamped by noise).

Consequences: many frames are background-only or carry only head classes
(frame-level imbalance, so attention over frames helps); tail evidence is
short, weak and overlaps head segments (frames a first expert ignores);
within a segment ``x_{t+1} - x_t`` carries ``a delta_c / (l - 1)`` (motion
is informative); classes of one family are confusable in appearance.

Everything is deterministic for a seed (``numpy.random.Generator`` streams
spawned from ``SeedSequence(seed)``), vectorised over videos (chunks of
``chunk_size`` videos), and float32 on disk.
"""

import csv
import dataclasses
import json
import math
import os
import os.path as osp
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from meid_mmaction.datasets.class_groups import (
    split_groups,
    write_count_file,
    write_label_list,
)

SPLITS = ('train', 'validate', 'test')
GENERATOR_VERSION = 1


@dataclasses.dataclass(frozen=True)
class SyntheticLTConfig:
    """All knobs of the generator (defaults = the ``demo`` preset).

    Counts: ``max_count`` / ``min_count`` are the training videos of the
    most / least frequent class (``n_max`` / ``n_min``); ``val_max_count``,
    ``test_max_count``, ``eval_min_count`` and ``eval_temper`` give the
    validation / test counts (``m_max``, ``m_min``, ``tau``). Group
    thresholds ``head_thr`` / ``tail_thr`` (head ``n > head_thr``, tail
    ``n <= tail_thr``) are suggested in ``meta.json``; every group must be
    non-empty. See the module docstring for the other symbols.
    """

    num_classes: int = 50
    max_count: int = 300
    min_count: int = 2
    val_max_count: int = 30
    test_max_count: int = 60
    eval_min_count: int = 3
    eval_temper: float = 0.5
    labels_per_video: float = 1.5
    max_labels_per_video: int = 4
    feat_dim: int = 96
    min_frames: int = 40
    max_frames: int = 60
    family_size: int = 5
    shared_weight: float = 0.5
    drift_norm: float = 1.5
    seg_frac_head: float = 0.6
    seg_frac_tail: float = 0.15
    seg_len_jitter: float = 0.3
    min_seg_frames: int = 3
    amp_head: float = 1.0
    amp_tail: float = 0.5
    amp_jitter: float = 0.2
    bg_std: float = 1.0
    noise_std: float = 1.0
    noise_corr: float = 0.8
    shuffle_classes: bool = True
    head_thr: int = 100
    tail_thr: int = 20
    min_imbalance_ratio: float = 100.0
    chunk_size: int = 256
    tail_placement: str = 'uniform'
    tail_with_head: bool = False
    timeline_source: str = 'synthetic'
    charades_profile: str = 'charades'
    charades_scale: float = 1.0


# Knobs of the 'premise' presets (see PRESETS).
_PREMISE = dict(
    num_classes=40,
    max_count=300,
    min_count=3,
    val_max_count=30,
    test_max_count=60,
    eval_min_count=5,
    labels_per_video=2.5,
    max_labels_per_video=5,
    feat_dim=64,
    min_frames=24,
    max_frames=32,
    seg_frac_head=0.6,
    seg_frac_tail=0.2,
    amp_tail=1.0,
    noise_std=0.7,
    head_thr=90,
    tail_thr=15,
    tail_placement='avoid_head',
    tail_with_head=True,
)

PRESETS: Dict[str, SyntheticLTConfig] = {
    # ~3.1k videos, 50 classes, 96-d, 40-60 frames (about 60 MB).
    'demo': SyntheticLTConfig(),
    # ~130 videos, 6 classes (counts 100 .. 1), 8-d, 6-10 frames: smoke tests
    # of the tools and configs in seconds.
    'tiny': SyntheticLTConfig(
        num_classes=6,
        max_count=100,
        min_count=1,
        val_max_count=6,
        test_max_count=8,
        eval_min_count=2,
        feat_dim=8,
        min_frames=6,
        max_frames=10,
        min_seg_frames=2,
        family_size=2,
        head_thr=30,
        tail_thr=5,
        chunk_size=32,
    ),
    # ~10k videos, 100 classes, 128-d, 48-64 frames (about 300 MB).
    'ablation': SyntheticLTConfig(
        num_classes=100,
        max_count=500,
        min_count=4,
        val_max_count=50,
        test_max_count=100,
        eval_min_count=5,
        feat_dim=128,
        min_frames=48,
        max_frames=64,
        head_thr=150,
        tail_thr=25,
    ),
    # The paper's premise (frame-level imbalance in long untrimmed
    # multi-label videos): every non-head action co-occurs with a head
    # action (tail_with_head), head actions are long (60 % of the video)
    # and non-head actions short and placed where the video has the least
    # head action (tail_placement='avoid_head'), so little background is
    # left and the frames a head-dominated expert 1 attends to least carry
    # the tail evidence. 40 classes, 64-d, 24-32 frames.
    'premise': SyntheticLTConfig(**_PREMISE),
    # The same without a motion signal (no class drift: frame differences
    # carry noise only), as static per-frame features of real videos.
    'premise_static': SyntheticLTConfig(**_PREMISE, drift_norm=0.0),
    # Real Charades timelines (needs charades_dir): labels, co-occurrence,
    # action durations and positions of a CharadesLT-like long-tailed
    # subset (profile 'charades' of the CharadesLT builder at half size,
    # charades_scale=0.5: ~1.1k / 0.23k / 0.5k videos, 157 classes, head >
    # 50 / tail <= 10); only the frame features are synthetic (64-d, 24-32
    # frames, no motion signal).
    'charades': SyntheticLTConfig(
        num_classes=157,
        max_count=618,
        min_count=1,
        feat_dim=64,
        min_frames=24,
        max_frames=32,
        min_seg_frames=1,
        drift_norm=0.0,
        amp_tail=1.0,
        noise_std=0.7,
        head_thr=50,
        tail_thr=10,
        timeline_source='charades',
        charades_scale=0.5,
    ),
}

_PLACEMENTS = ('uniform', 'avoid_head')
_TIMELINE_SOURCES = ('synthetic', 'charades')


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _validate(cfg: SyntheticLTConfig) -> None:
    """Raise ``ValueError`` naming the bad knob, its value, what is valid."""
    ints = (
        'num_classes',
        'max_count',
        'min_count',
        'val_max_count',
        'test_max_count',
        'eval_min_count',
        'max_labels_per_video',
        'feat_dim',
        'min_frames',
        'max_frames',
        'family_size',
        'min_seg_frames',
        'head_thr',
        'tail_thr',
        'chunk_size',
    )
    for name in ints:
        v = getattr(cfg, name)
        _check(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool),
            f'{name} must be an integer, got {v!r}',
        )
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if isinstance(v, float):
            _check(math.isfinite(v), f'{f.name} must be finite, got {v!r}')
    c = cfg
    _check(
        c.num_classes >= 3,
        f'num_classes must be >= 3 (head, medium and tail groups), got '
        f'{c.num_classes}',
    )
    _check(c.min_count >= 1, f'min_count must be >= 1, got {c.min_count}')
    _check(
        c.max_count >= c.min_count,
        f'max_count must be >= min_count, got max_count={c.max_count}, '
        f'min_count={c.min_count}',
    )
    ratio = c.max_count / c.min_count
    _check(
        ratio >= c.min_imbalance_ratio,
        f'imbalance ratio max_count / min_count = {c.max_count} / '
        f'{c.min_count} = {ratio:.1f} is below min_imbalance_ratio='
        f'{c.min_imbalance_ratio}; raise max_count or lower min_count',
    )
    _check(
        c.val_max_count >= 1 and c.test_max_count >= 1,
        f'val_max_count and test_max_count must be >= 1, got '
        f'{c.val_max_count} and {c.test_max_count}',
    )
    _check(
        c.eval_min_count >= 0,
        f'eval_min_count must be >= 0, got {c.eval_min_count}',
    )
    _check(
        0.0 <= c.eval_temper <= 1.0,
        f'eval_temper must be in [0, 1], got {c.eval_temper}',
    )
    _check(
        1 <= c.max_labels_per_video <= c.num_classes,
        f'max_labels_per_video must be in [1, num_classes='
        f'{c.num_classes}], got {c.max_labels_per_video}',
    )
    _check(
        1.0 <= c.labels_per_video <= c.max_labels_per_video,
        f'labels_per_video must be in [1, max_labels_per_video='
        f'{c.max_labels_per_video}], got {c.labels_per_video}',
    )
    _check(c.feat_dim >= 2, f'feat_dim must be >= 2, got {c.feat_dim}')
    _check(
        c.min_frames >= 2,
        f'min_frames must be >= 2 (motion needs two frames), got '
        f'{c.min_frames}',
    )
    _check(
        c.max_frames >= c.min_frames,
        f'max_frames must be >= min_frames, got max_frames='
        f'{c.max_frames}, min_frames={c.min_frames}',
    )
    _check(
        1 <= c.min_seg_frames <= c.min_frames,
        f'min_seg_frames must be in [1, min_frames={c.min_frames}], got '
        f'{c.min_seg_frames}',
    )
    _check(
        1 <= c.family_size <= c.num_classes,
        f'family_size must be in [1, num_classes={c.num_classes}], got '
        f'{c.family_size}',
    )
    _check(
        0.0 <= c.shared_weight < 1.0,
        f'shared_weight must be in [0, 1), got {c.shared_weight}',
    )
    for name in ('seg_frac_head', 'seg_frac_tail'):
        v = getattr(c, name)
        _check(0.0 < v <= 1.0, f'{name} must be in (0, 1], got {v}')
    for name in ('seg_len_jitter', 'amp_jitter'):
        v = getattr(c, name)
        _check(0.0 <= v < 1.0, f'{name} must be in [0, 1), got {v}')
    for name in ('drift_norm', 'amp_head', 'amp_tail', 'bg_std', 'noise_std'):
        v = getattr(c, name)
        _check(v >= 0.0, f'{name} must be >= 0, got {v}')
    _check(
        0.0 <= c.noise_corr < 1.0,
        f'noise_corr must be in [0, 1), got {c.noise_corr}',
    )
    _check(
        c.tail_thr < c.head_thr,
        f'group thresholds must satisfy tail_thr < head_thr, got '
        f'head_thr={c.head_thr}, tail_thr={c.tail_thr}',
    )
    _check(c.chunk_size >= 1, f'chunk_size must be >= 1, got {c.chunk_size}')
    _check(
        c.tail_placement in _PLACEMENTS,
        f'tail_placement must be one of {_PLACEMENTS}, got '
        f'{c.tail_placement!r}',
    )
    _check(
        isinstance(c.tail_with_head, bool),
        f'tail_with_head must be a bool, got {c.tail_with_head!r}',
    )
    _check(
        0.0 < c.charades_scale <= 1.0,
        f'charades_scale must be in (0, 1], got {c.charades_scale}',
    )
    _check(
        c.timeline_source in _TIMELINE_SOURCES,
        f'timeline_source must be one of {_TIMELINE_SOURCES}, got '
        f'{c.timeline_source!r}',
    )


def make_config(preset: str = 'demo', **overrides: Any) -> SyntheticLTConfig:
    """A preset with some knobs replaced; checks names and values."""
    if preset not in PRESETS:
        raise ValueError(
            f'unknown preset {preset!r}; expected one of {sorted(PRESETS)}'
        )
    names = {f.name for f in dataclasses.fields(SyntheticLTConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(
            f'unknown generator parameter(s) {unknown}; '
            f'expected some of {sorted(names)}'
        )
    cfg = dataclasses.replace(PRESETS[preset], **overrides)
    _validate(cfg)
    return cfg


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

    Empty rows (see step 3 of the module docstring) are removed. With
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


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _class_model(
    cfg: SyntheticLTConfig,
    rng: np.random.Generator,
    counts: Optional[np.ndarray] = None,
) -> Dict[str, np.ndarray]:
    """Counts, headness ``[C]``, prototypes and drifts ``[C, D]``.

    ``counts`` (real training counts) replace the power law when given.
    """
    num_c, dim = cfg.num_classes, cfg.feat_dim
    if counts is None:
        rank = (
            rng.permutation(num_c) if cfg.shuffle_classes else np.arange(num_c)
        )
        counts = power_law_counts(cfg.max_count, cfg.min_count, num_c)[rank]
        lo, hi = cfg.min_count, cfg.max_count
    else:
        counts = np.asarray(counts, dtype=np.int64)
        lo, hi = max(int(counts.min()), 1), int(counts.max())
    if hi > lo:
        headness = np.clip(
            np.log(np.maximum(counts, 1) / lo) / math.log(hi / lo), 0.0, 1.0
        )
    else:
        headness = np.ones(num_c)
    num_fam = -(-num_c // cfg.family_size)
    family = rng.permutation(np.arange(num_c) % num_fam)
    own = _unit(rng.standard_normal((num_c, dim)))
    shared = _unit(rng.standard_normal((num_fam, dim)))
    s = cfg.shared_weight
    protos = _unit(math.sqrt(1 - s) * own + math.sqrt(s) * shared[family])
    drifts = cfg.drift_norm * _unit(rng.standard_normal((num_c, dim)))
    return dict(
        counts=counts,
        headness=headness,
        family=family,
        protos=protos,
        drifts=drifts,
    )


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
    ``cfg.charades_profile`` (:mod:`.charades_lt`: target counts and
    greedy multi-label subsampling of the official training videos), its
    sizes and largest target count scaled by ``cfg.charades_scale``;
    validation and test videos are a seeded disjoint draw from the official
    test videos.

    Returns:
        dict: ``train_counts`` ``[C]``, ``counts`` per split and, per split,
        ``ids``, ``labels``, ``lengths`` (seconds) and ``segments``
        (``(class, start s, end s)`` lists).
    """
    from .charades_lt import PRESETS as LT_PRESETS
    from .charades_lt import (
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


def _features_chunk(
    v0: int,
    v1: int,
    frames: np.ndarray,
    seg: Dict[str, np.ndarray],
    model: Dict[str, np.ndarray],
    cfg: SyntheticLTConfig,
    rng: np.random.Generator,
) -> Tuple[np.ndarray, np.ndarray]:
    """Features ``[n, T_max, D]`` (float64) and activity ``[n, C, T_max]``.

    Rows ``t >= T_i`` are padding (not written).
    """
    n, t_max, dim = v1 - v0, int(frames[v0:v1].max()), cfg.feat_dim
    num_c = cfg.num_classes
    sel = (seg['video'] >= v0) & (seg['video'] < v1)
    v, c = seg['video'][sel] - v0, seg['cls'][sel]
    start, length = seg['start'][sel, None], seg['length'][sel, None]
    t = np.arange(t_max)[None]
    active = (t >= start) & (t < start + length)  # [P, T]
    tau = (t - start) / np.maximum(length - 1, 1) - 0.5
    tau = np.where(length > 1, tau, 0.0)
    amp = seg['amp'][sel, None] * active
    w_mu = np.zeros((n, num_c, t_max))
    w_delta = np.zeros((n, num_c, t_max))
    # add.at: several segments of one class in a video (real timelines)
    np.add.at(w_mu, (v, c), amp)
    np.add.at(w_delta, (v, c), amp * tau)
    x = np.matmul(w_mu.transpose(0, 2, 1), model['protos']) + np.matmul(
        w_delta.transpose(0, 2, 1), model['drifts']
    )
    x += (cfg.bg_std / math.sqrt(dim)) * rng.standard_normal((n, 1, dim))
    z = (cfg.noise_std / math.sqrt(dim)) * rng.standard_normal((n, t_max, dim))
    rho = cfg.noise_corr
    innov = math.sqrt(1.0 - rho * rho)
    for k in range(1, t_max):  # AR(1) along time, vectorised over videos
        z[:, k] = rho * z[:, k - 1] + innov * z[:, k]
    x += z
    return x, w_mu > 0


def _frame_stats(
    covered: int,
    seg_len: np.ndarray,
    seg_cls: np.ndarray,
    groups: Dict[str, List[int]],
    total_frames: int,
) -> Dict[str, Any]:
    """Background fraction and segment frames per class group."""
    stats: Dict[str, Any] = dict(
        total_frames=int(total_frames),
        background_fraction=float(1.0 - covered / total_frames),
    )
    for g, idx in groups.items():
        mask = np.isin(seg_cls, idx)
        stats[f'{g}_segment_frames'] = int(seg_len[mask].sum())
        stats[f'{g}_mean_segment_len'] = (
            float(seg_len[mask].mean()) if mask.any() else 0.0
        )
    return stats


_OUR_FILES = (
    'train.lst',
    'validate.lst',
    'test.lst',
    'count-labels-train.lst',
    'segments.csv',
    'meta.json',
)


def _prepare_out_dir(out_dir: str, overwrite: bool) -> str:
    feat_dir = osp.join(out_dir, 'features')
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise ValueError(f'out_dir {out_dir!r} exists and is not a directory')
    existing = [f for f in _OUR_FILES if osp.exists(osp.join(out_dir, f))]
    if existing and not overwrite:
        raise ValueError(
            f'out_dir {out_dir!r} already holds a dataset ({existing[0]}); '
            'pass overwrite=True (--overwrite) or choose another directory'
        )
    if overwrite and osp.isdir(feat_dir):
        for name in os.listdir(feat_dir):
            if name.endswith('.npy'):
                os.remove(osp.join(feat_dir, name))
    os.makedirs(feat_dir, exist_ok=True)
    return feat_dir


def generate_synthetic_lt(
    out_dir: str,
    preset: str = 'demo',
    seed: int = 0,
    overwrite: bool = False,
    config: Optional[SyntheticLTConfig] = None,
    charades_dir: Optional[str] = None,
    **overrides: Any,
) -> Dict[str, Any]:
    """Write a synthetic long-tailed multi-label feature dataset.

    Args:
        out_dir (str): Output directory (created if missing).
        preset (str): A key of :data:`PRESETS` (``'demo'``, ``'tiny'``,
            ``'ablation'``, ``'premise'``, ...).
        seed (int): Seed; the same seed and knobs (``chunk_size`` too: it
            orders the random draws) give byte-identical files.
        overwrite (bool): Replace a dataset already in ``out_dir`` (its
            ``features/*.npy`` are deleted first).
        config (SyntheticLTConfig, optional): Use this instead of a preset.
        charades_dir (str, optional): Directory with the official
            ``Charades_v1_train.csv`` / ``Charades_v1_test.csv``; needed by
            ``timeline_source='charades'`` (preset ``'charades'``).
        **overrides: Knobs of :class:`SyntheticLTConfig` to replace.

    Returns:
        dict: The content of ``meta.json`` (parameters, seed, per-split class
        counts, video numbers, imbalance ratio, suggested group thresholds and
        groups, classes without validation / test positives, frame-level
        statistics).
    """
    if (
        isinstance(seed, bool)
        or not isinstance(seed, (int, np.integer))
        or seed < 0
    ):
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
    if config is None:
        cfg = make_config(preset, **overrides)
    else:
        if not isinstance(config, SyntheticLTConfig):
            raise ValueError(
                f'config must be a SyntheticLTConfig, got '
                f'{type(config).__name__}'
            )
        cfg = dataclasses.replace(config, **overrides)
        _validate(cfg)
        preset = 'custom'
    tic = time.perf_counter()
    ss = np.random.SeedSequence(int(seed))
    rng_cls, *rng_split = [np.random.default_rng(s) for s in ss.spawn(4)]
    timelines = None
    if cfg.timeline_source == 'charades':
        timelines = charades_timeline_plan(cfg, charades_dir, int(seed))
    model = _class_model(
        cfg, rng_cls, None if timelines is None else timelines['train_counts']
    )
    train_counts = model['counts']
    groups = split_groups(train_counts, cfg.head_thr, cfg.tail_thr)
    empty = [g for g, idx in groups.items() if not idx]
    if empty:
        raise ValueError(
            f'group thresholds head_thr={cfg.head_thr}, tail_thr='
            f'{cfg.tail_thr} leave group(s) {empty} empty for training '
            f'counts in [{cfg.min_count}, {cfg.max_count}]; choose '
            'thresholds inside that range'
        )
    split_counts = (
        {
            'train': train_counts,
            'validate': _eval_counts(
                train_counts,
                cfg.val_max_count,
                cfg.eval_min_count,
                cfg.eval_temper,
            ),
            'test': _eval_counts(
                train_counts,
                cfg.test_max_count,
                cfg.eval_min_count,
                cfg.eval_temper,
            ),
        }
        if timelines is None
        else timelines['counts']
    )
    is_head = train_counts > cfg.head_thr
    width = len(str(cfg.num_classes - 1))
    names = [f'class_{c:0{width}d}' for c in range(cfg.num_classes)]
    plan = {}  # labels, lengths and segments first: no file before errors
    for split, rng in zip(SPLITS, rng_split):
        if timelines is not None:
            plan[split] = _timeline_segments(
                timelines[split], cfg, model['headness'], rng
            )
            continue
        multi_hot = _assign_labels(
            split_counts[split], cfg, split, rng, train_counts
        )
        n = multi_hot.shape[0]
        frames = rng.integers(cfg.min_frames, cfg.max_frames + 1, n)
        seg = _segments(
            multi_hot, frames, model['headness'], cfg, rng, is_head
        )
        plan[split] = (multi_hot, frames, seg)
    feat_dir = _prepare_out_dir(out_dir, overwrite)
    seg_rows = []
    meta_splits: Dict[str, Any] = {}
    for split, rng in zip(SPLITS, rng_split):
        multi_hot, frames, seg = plan[split]
        n = multi_hot.shape[0]
        ids = (
            [f'{split}_{i:06d}' for i in range(n)]
            if timelines is None
            else timelines[split]['ids']
        )
        covered = 0
        for v0 in range(0, n, cfg.chunk_size):
            v1 = min(n, v0 + cfg.chunk_size)
            x, act = _features_chunk(v0, v1, frames, seg, model, cfg, rng)
            covered += int(act.any(axis=1).sum())
            for k in range(v1 - v0):
                arr = x[k, : frames[v0 + k]].astype(np.float32)
                np.save(osp.join(feat_dir, f'{ids[v0 + k]}.npy'), arr)
        write_label_list(
            osp.join(out_dir, f'{split}.lst'),
            ids,
            [np.flatnonzero(row) for row in multi_hot],
        )
        counts = multi_hot.sum(axis=0).astype(np.int64)
        if not np.array_equal(counts, split_counts[split]):
            raise RuntimeError(
                f'{split}: class counts differ from the '
                'targets (generator bug)'
            )
        for p in range(seg['video'].size):
            seg_rows.append(
                (
                    split,
                    ids[seg['video'][p]],
                    int(seg['cls'][p]),
                    int(seg['start'][p]),
                    int(seg['length'][p]),
                    f'{seg["amp"][p]:.6f}',
                )
            )
        stats = _frame_stats(
            covered, seg['length'], seg['cls'], groups, int(frames.sum())
        )
        meta_splits[split] = dict(
            num_videos=int(n),
            labels_per_video=float(multi_hot.sum() / n),
            class_counts=counts.tolist(),
            classes_without_positives=np.flatnonzero(counts == 0).tolist(),
            frames=dict(
                min=int(frames.min()),
                max=int(frames.max()),
                mean=float(frames.mean()),
            ),
            **stats,
        )
    write_count_file(
        osp.join(out_dir, 'count-labels-train.lst'), names, train_counts
    )
    with open(
        osp.join(out_dir, 'segments.csv'), 'w', encoding='utf-8', newline=''
    ) as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(
            ('split', 'video_id', 'class', 'start', 'length', 'amplitude')
        )
        writer.writerows(seg_rows)
    meta = dict(
        generator=('meid_datatools.synthetic.generate_synthetic_lt'),
        generator_version=GENERATOR_VERSION,
        preset=preset,
        seed=int(seed),
        params=dataclasses.asdict(cfg),
        num_classes=cfg.num_classes,
        feat_dim=cfg.feat_dim,
        classes=names,
        imbalance_ratio=float(train_counts.max() / train_counts.min()),
        group_thresholds=[cfg.head_thr, cfg.tail_thr],
        class_groups=groups,
        group_sizes={g: len(idx) for g, idx in groups.items()},
        class_family=model['family'].tolist(),
        splits=meta_splits,
    )
    with open(osp.join(out_dir, 'meta.json'), 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write('\n')
    meta['generation_seconds'] = time.perf_counter() - tic
    return meta
