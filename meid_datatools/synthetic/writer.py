"""Write a synthetic dataset: :func:`generate_synthetic_lt`.

Plans labels and timelines for every split (:mod:`.labels`), renders the
features chunk by chunk (:mod:`.render`) and writes the lists, the count
file, ``features/*.npy``, ``segments.csv`` and ``meta.json``.
"""

import csv
import dataclasses
import json
import os
import os.path as osp
import time
from typing import Any, Dict, Optional

import numpy as np

from meid_mmaction.datasets.class_groups import (
    split_groups,
    write_count_file,
    write_label_list,
)

from .labels import (
    _assign_labels,
    _eval_counts,
    _segments,
    _timeline_segments,
    charades_timeline_plan,
)
from .presets import SyntheticLTConfig, _validate, make_config
from .render import _class_model, _features_chunk, _frame_stats

SPLITS = ('train', 'validate', 'test')
GENERATOR_VERSION = 1


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
        generator='meid_datatools.synthetic.generate_synthetic_lt',
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
