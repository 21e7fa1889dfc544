"""Validate a feature dataset against its lists, count file and config.

Unlike the parsers in ``annotations.py`` (which stop at the first error),
the checker collects every problem, grouped by kind, so one run shows all
that is wrong with a dataset. Checks:

* video lists: line format, integer labels in ``[0, num_classes)``,
  duplicate ids within a split (``duplicate_id``) and videos in several
  splits (``id_in_several_splits``);
* count file: line format, class indices ``0..C-1``, ``C == num_classes``,
  counts equal to the counts recomputed from the training list;
* features (opened through :func:`build_feature_store`, so ``.npy``
  directories and packed stores both work): missing, unreadable, rank not 2,
  ``D != feat_dim``, ``T != num_frames`` (from the headers), NaN / inf
  anywhere (the whole array is read; ``check_values=False`` skips this).

The result is a JSON-serialisable report (:func:`check_dataset`).
"""

import copy
import os.path as osp
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .annotations import (
    AnnotationLineError,
    parse_count_line,
    parse_label_line,
)
from .feature_store import build_feature_store

#: number of example messages kept per problem kind
NUM_EXAMPLES = 5

SPLIT_KEYS = (
    ('train', 'train_dataloader'),
    ('val', 'val_dataloader'),
    ('test', 'test_dataloader'),
)


class Problems:
    """Problems grouped by kind: a count and the first few messages."""

    def __init__(self) -> None:
        self.groups: 'OrderedDict[str, dict]' = OrderedDict()

    def add(self, kind: str, message: str) -> None:
        """Count a problem of ``kind``; keep its message if among the
        first ``NUM_EXAMPLES``."""
        group = self.groups.setdefault(kind, dict(count=0, examples=[]))
        group['count'] += 1
        if len(group['examples']) < NUM_EXAMPLES:
            group['examples'].append(message)

    def count(self, kind: Optional[str] = None) -> int:
        """Problems of ``kind`` (all kinds when None)."""
        if kind is None:
            return sum(g['count'] for g in self.groups.values())
        return self.groups.get(kind, dict(count=0))['count']


def check_label_list(
    path: str, num_classes: Optional[int], problems: Problems
) -> Tuple[List[str], List[List[int]]]:
    """Read a video list, recording every bad line in ``problems``.

    Returns:
        tuple: ``(ids, labels)`` of the well-formed lines.
    """
    ids: List[str] = []
    labels: List[List[int]] = []
    seen: Dict[str, int] = {}
    if not osp.isfile(path):
        problems.add('missing_list', f'video list not found: {path}')
        return ids, labels
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            try:
                vid, label = parse_label_line(
                    line, f'{path}:{lineno}', num_classes
                )
            except AnnotationLineError as err:
                problems.add(err.kind, str(err))
                continue
            if vid in seen:
                problems.add(
                    'duplicate_id',
                    f'{path}:{lineno}: duplicate video id '
                    f'{vid!r} (first on line {seen[vid]})',
                )
                continue
            seen[vid] = lineno
            ids.append(vid)
            labels.append(label)
    if not seen:
        problems.add('empty_list', f'{path}: no video in the list')
    return ids, labels


def check_count_file(
    path: str,
    num_classes: Optional[int],
    train_labels: Optional[Sequence[Sequence[int]]],
    problems: Problems,
    train_list: str = 'the training list',
) -> Optional[int]:
    """Check a ``<class name> <class index> <count>`` file.

    Returns:
        int or None: the number of classes it lists (None if unreadable).
    """
    if not osp.isfile(path):
        problems.add('missing_count_file', f'count file not found: {path}')
        return None
    counts: Dict[int, Tuple[int, int]] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            try:
                _, idx, cnt = parse_count_line(line, f'{path}:{lineno}')
            except AnnotationLineError as err:
                problems.add(err.kind, str(err))
                continue
            if idx in counts:
                problems.add(
                    'count_format',
                    f'{path}:{lineno}: class index {idx} '
                    f'repeated (first on line {counts[idx][1]})',
                )
                continue
            counts[idx] = (cnt, lineno)
    n = len(counts)
    missing = sorted(set(range(n)) - set(counts))
    if missing:
        problems.add(
            'count_format',
            f'{path}: class indices must be 0..{n - 1}; '
            f'missing {missing[:10]}{" ..." if len(missing) > 10 else ""}',
        )
    if num_classes is not None and n != num_classes:
        problems.add(
            'num_classes_mismatch',
            f'{path}: lists {n} classes, expected num_classes={num_classes}',
        )
    if train_labels is not None:
        size = max(
            [n, num_classes or 0]
            + [c + 1 for lab in train_labels for c in lab]
        )
        real = np.zeros(size, dtype=np.int64)
        for lab in train_labels:
            real[list(lab)] += 1
        for c in range(size):
            if c not in counts:
                continue
            want, lineno = counts[c]
            if want != real[c]:
                problems.add(
                    'count_mismatch',
                    f'{path}:{lineno}: class {c} has count '
                    f'{want} but {train_list} has {int(real[c])} videos '
                    'with it',
                )
    return n


def check_feature(
    store,
    video_id: str,
    feat_dim: Optional[int],
    num_frames: Optional[int],
    check_values: bool = True,
) -> List[Tuple[str, str]]:
    """Problems ``[(kind, message)]`` of one video's features.

    With ``check_values=False`` only the header (shape) is read.
    """
    try:
        arr = store.open(video_id)
    except (FileNotFoundError, KeyError) as e:
        msg = e.args[0] if e.args else str(e)
        return [('missing_feature', str(msg))]
    except Exception as e:  # noqa: BLE001 - any reader error is reported
        return [
            (
                'unreadable_feature',
                f'{store.location(video_id)}: {type(e).__name__}: {e}',
            )
        ]
    where = store.location(video_id)
    shape = tuple(getattr(arr, 'shape', ()))
    found = []
    if len(shape) != 2:
        return [
            ('wrong_rank', f'{where}: shape {shape}, expected rank 2 [T, D]')
        ]
    if feat_dim is not None and shape[1] != feat_dim:
        found.append(
            ('wrong_dim', f'{where}: shape {shape}, expected D = {feat_dim}')
        )
    if num_frames is not None and shape[0] != num_frames:
        found.append(
            (
                'wrong_frames',
                f'{where}: shape {shape}, expected T = {num_frames}',
            )
        )
    if not check_values:
        return found
    try:
        data = np.asarray(arr)
    except Exception as e:  # noqa: BLE001
        return found + [
            ('unreadable_feature', f'{where}: {type(e).__name__}: {e}')
        ]
    if not np.issubdtype(data.dtype, np.number):
        return found + [
            (
                'unreadable_feature',
                f'{where}: dtype {data.dtype}, expected numbers',
            )
        ]
    bad = int(data.size - np.count_nonzero(np.isfinite(data)))
    if bad:
        found.append(
            ('non_finite', f'{where}: {bad} NaN/inf values of {data.size}')
        )
    return found


def check_features(
    feature_root: str,
    video_ids: Sequence[str],
    feat_dim: Optional[int],
    num_frames: Optional[int],
    problems: Problems,
    workers: int = 1,
    progress: Union[bool, float] = True,
    check_values: bool = True,
) -> int:
    """Check the features of every video, ``workers`` threads in parallel.

    ``check_values=False`` reads only the headers (shapes), not the values.

    Returns:
        int: the number of videos whose features passed every check.
    """
    if not osp.isdir(feature_root):
        problems.add(
            'missing_feature_root',
            f'feature directory not found: {feature_root}',
        )
        return 0
    store = build_feature_store(feature_root)
    bar = None
    if progress and video_ids:
        from ..utils.progress import Progress

        every = 10.0 if progress is True else float(progress)
        bar = Progress(
            len(video_ids), label=f'features of {feature_root}', every=every
        )
    good = 0

    def one(vid):
        return check_feature(store, vid, feat_dim, num_frames, check_values)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # map keeps the list order, so the examples are deterministic
        for found in pool.map(one, video_ids, chunksize=1):
            for kind, msg in found:
                problems.add(kind, msg)
            good += not found
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    return good


def splits_from_config(
    config,
    num_classes: Optional[int] = None,
    cfg_options: Optional[dict] = None,
    split_keys: Sequence[Tuple[str, str]] = SPLIT_KEYS,
) -> dict:
    """Dataset settings from an mmengine config.

    Reads ``train/val/test_dataloader.dataset`` (descending into wrapper
    datasets) with ``data_root`` applied like the datasets do.

    Args:
        config (str | Config): Config file, or a loaded config (not
            modified).
        num_classes (int, optional): Overrides the datasets' value.
        cfg_options (dict, optional): ``key=value`` overrides merged into
            the config first, as ``--cfg-options`` of ``tools/train.py``.
        split_keys: ``(split name, dataloader key)`` pairs to read.

    Returns:
        dict: ``splits`` (name -> ``ann_file``, ``feature_root``,
        ``feat_dim``, ``num_frames``), ``num_classes``, ``count_file``.
    """
    from mmengine.config import Config

    from ..utils.data_keys import apply_data_keys

    if isinstance(config, Config):
        cfg = copy.deepcopy(config)  # the caller's config is kept
        config = cfg.filename or 'config'
    else:
        cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    apply_data_keys(cfg)
    splits: Dict[str, dict] = OrderedDict()
    count_file = None
    for name, key in split_keys:
        loader = cfg.get(key)
        if not loader or 'dataset' not in loader:
            continue
        ds = loader['dataset']
        while 'ann_file' not in ds and isinstance(ds.get('dataset'), dict):
            ds = ds['dataset']
        if 'ann_file' not in ds:
            raise ValueError(f"{config}: {key}.dataset has no 'ann_file'")
        root = ds.get('data_root') or ''

        def join(path, root=root):
            if path is None or osp.isabs(path) or not root:
                return path
            return osp.join(root, path)

        prefix = ds.get('data_prefix', '')
        if isinstance(prefix, dict):
            if 'feat' not in prefix:
                raise ValueError(
                    f"{config}: {key}.dataset.data_prefix has no 'feat' "
                    f'key, got {dict(prefix)!r}'
                )
            prefix = prefix['feat']
        if ds.get('num_classes') is not None and num_classes is None:
            num_classes = int(ds['num_classes'])
        count_file = count_file or join(ds.get('count_file'))
        splits[name] = dict(
            ann_file=join(ds['ann_file']),
            feature_root=join(prefix) or '.',
            feat_dim=ds.get('feat_dim'),
            num_frames=ds.get('num_frames', cfg.get('num_frames')),
        )
    if not splits:
        raise ValueError(
            f'{config}: no train_dataloader / val_dataloader / '
            'test_dataloader with a dataset'
        )
    return dict(splits=splits, num_classes=num_classes, count_file=count_file)


def check_dataset(
    splits: Dict[str, dict],
    num_classes: Optional[int] = None,
    count_file: Optional[str] = None,
    workers: int = 1,
    progress: Union[bool, float] = True,
    check_features_too: bool = True,
    check_values: bool = True,
) -> dict:
    """Check every split; return the report.

    Args:
        splits: name -> dict(``ann_file``, ``feature_root``, ``feat_dim``,
            ``num_frames``). The count file is compared with the split named
            ``'train'`` (or the first one).
        num_classes (int, optional): if None, taken from the count file.
        workers (int): threads reading features.
        progress (bool | float): report the feature reads on stderr
            (:class:`~meid_mmaction.utils.progress.Progress`: in place on a
            terminal, else a line every 10 %, or every ``progress`` % when
            a number).
        check_features_too (bool): open every video's features.
        check_values (bool): read the whole arrays (NaN / inf); False reads
            only the headers (shapes).

    Splits reading the same list (e.g. a test loader on the validation
    list) are compared with each other for shared ids only if their lists
    differ, and features are checked once per (list, feature directory).

    Returns:
        dict: ``ok``, ``num_problems``, ``problems`` (kind -> ``count``,
        ``examples``), ``splits`` (per-split numbers), ``num_classes``.
    """
    problems = Problems()
    if num_classes is None and count_file is not None:
        num_classes = check_count_file(count_file, None, None, Problems())
    per_split: Dict[str, dict] = OrderedDict()
    all_labels: Dict[str, List[List[int]]] = {}
    owner: Dict[str, Tuple[str, str]] = {}
    checked: Dict[tuple, str] = {}  # (list, features ...) -> split name
    for name, split in splits.items():
        key = (
            split['ann_file'],
            split['feature_root'],
            split.get('feat_dim'),
            split.get('num_frames'),
        )
        if key in checked:  # the same list and features: checked already
            per_split[name] = dict(per_split[checked[key]])
            all_labels[name] = all_labels[checked[key]]
            continue
        checked[key] = name
        ids, labels = check_label_list(
            split['ann_file'], num_classes, problems
        )
        all_labels[name] = labels
        for vid in ids:
            first = owner.setdefault(vid, (name, split['ann_file']))
            if first[1] != split['ann_file']:
                problems.add(
                    'id_in_several_splits',
                    f'video {vid!r} is in split '
                    f'{name!r} ({split["ann_file"]}) and in split '
                    f'{first[0]!r} ({first[1]})',
                )
        good = 0
        if check_features_too:
            good = check_features(
                split['feature_root'],
                ids,
                split.get('feat_dim'),
                split.get('num_frames'),
                problems,
                workers,
                progress,
                check_values,
            )
        per_split[name] = dict(
            ann_file=split['ann_file'],
            feature_root=split['feature_root'],
            videos=len(ids),
            features_ok=good,
            labels_per_video=float(np.mean([len(x) for x in labels]))
            if labels
            else 0.0,
        )
    if count_file is not None:
        train = 'train' if 'train' in splits else next(iter(splits))
        check_count_file(
            count_file,
            num_classes,
            all_labels[train],
            problems,
            splits[train]['ann_file'],
        )
    return dict(
        ok=problems.count() == 0,
        num_problems=problems.count(),
        num_classes=num_classes,
        count_file=count_file,
        splits=per_split,
        problems=dict(problems.groups),
    )


def format_report(report: dict) -> str:
    """Summary table of a report."""
    lines = [
        f'{"split":<8} {"videos":>8} {"features ok":>12} '
        f'{"labels/video":>13}  list'
    ]
    for name, s in report['splits'].items():
        lines.append(
            f'{name:<8} {s["videos"]:>8} {s["features_ok"]:>12} '
            f'{s["labels_per_video"]:>13.2f}  {s["ann_file"]}'
        )
    lines.append(
        f'classes: {report["num_classes"]}, count file: {report["count_file"]}'
    )
    if report['ok']:
        lines.append('OK: no problem found')
        return '\n'.join(lines)
    lines.append(f'{report["num_problems"]} problems:')
    for kind, group in report['problems'].items():
        lines.append(f'  {kind}: {group["count"]}')
        for msg in group['examples']:
            lines.append(f'    {msg}')
        if group['count'] > len(group['examples']):
            lines.append(
                f'    ... {group["count"] - len(group["examples"])} more'
            )
    return '\n'.join(lines)
