"""Knobs of the synthetic generator: :class:`SyntheticLTConfig`, the
presets (:data:`PRESETS`) and their validation (:func:`make_config`).

The symbols are those of the generative model in
:mod:`meid_datatools.synthetic`.
"""

import dataclasses
import math
from typing import Any, Dict

import numpy as np


@dataclasses.dataclass(frozen=True)
class SyntheticLTConfig:
    """All knobs of the generator (defaults = the ``demo`` preset).

    Counts: ``max_count`` / ``min_count`` are the training videos of the
    most / least frequent class (``n_max`` / ``n_min``); ``val_max_count``,
    ``test_max_count``, ``eval_min_count`` and ``eval_temper`` give the
    validation / test counts (``m_max``, ``m_min``, ``tau``). Group
    thresholds ``head_thr`` / ``tail_thr`` (head ``n > head_thr``, tail
    ``n <= tail_thr``) are suggested in ``meta.json``; every group must be
    non-empty. See :mod:`meid_datatools.synthetic` for the other symbols.
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
