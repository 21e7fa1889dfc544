"""Feature rendering of the synthetic generator.

The class model (prototypes with shared family components and temporal
drifts, step 4 of the model in :mod:`meid_datatools.synthetic`) and the
per-frame features of a chunk of videos (step 6), with frame statistics.
"""

import math
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .labels import power_law_counts
from .presets import SyntheticLTConfig


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
