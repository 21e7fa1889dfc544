"""The data keys: a feature dataset's few settings, written once.

A feature-dataset base (``configs/_base_/datasets/*.py``) declares the
dataset's settings as top-level *data keys* (``data_root``, ``feat_dir``,
``num_classes``, ``train_clip_len``, ...) and writes them into its three
dataloaders, so that a config runs through any entry point: MMAction2's own
``tools/train.py`` / ``tools/test.py`` and a bare ``Runner.from_cfg(cfg)``
read the loaders. It also records the values it wrote them with, under
:data:`RECORD_KEY` (``loader_data_keys``).

mmengine evaluates a base config when it reads it, so a child config (or
``--cfg-options``) that sets ``data_root`` again changes the top-level key
but not the loaders the base wrote. The record tells which side changed:

* top-level value == loader value: nothing to do;
* top-level value changed, loader value still the recorded one: the data
  key was set after the loaders were written. :func:`apply_data_keys`
  (called by ``tools/train.py``, ``tools/test.py`` and
  ``tools/data/check_dataset.py``) copies it into the loaders;
  :func:`check_data_keys` (called by ``DataKeysCheckHook`` before every
  run, for the entry points that do not apply the keys) raises a
  ``ValueError`` naming the key and the fix, instead of silently reading
  the base's data;
* top-level value still the recorded one, loader value changed: the loader
  was set on purpose (as in an MMAction2 config) and wins;
* both changed, to different values: an error naming both.

A data key the config does not record (a config that declares data keys
but leaves them out of its loaders) fills a loader that has no value and is
an error where the loader holds another one. ``None`` leaves the dataset's
own default. Only loaders whose dataset is a :class:`MultiLabelFeatureDataset`
(or a subclass) are looked at.
"""

import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

#: Data key -> what it sets (documented in docs/custom_dataset.md).
DATA_KEYS: Dict[str, str] = OrderedDict(
    dataset_type='dataset type of the three loaders',
    data_root='data_root of the three datasets',
    feat_dir="data_prefix['feat'] (relative to data_root)",
    count_file='training class-count file (relative to data_root)',
    num_classes='num_classes',
    feat_dim='feat_dim (checked when a video is opened)',
    head_thr='head classes: more than head_thr training videos',
    tail_thr='tail classes: at most tail_thr training videos',
    train_split="train_dataloader's ann_file (relative to data_root); "
    "val/test loaders' train_ann_file",
    val_split="val_dataloader's ann_file",
    test_split="test_dataloader's ann_file",
    train_clip_len='clip_len of SampleFeatureFrames, train pipeline',
    test_clip_len='clip_len of SampleFeatureFrames, val/test pipelines',
)

#: Top-level config key recording the data keys the loaders were written
#: with (by the base config that wrote them).
RECORD_KEY = 'loader_data_keys'

#: where to read how the keys work
DOC = 'docs/custom_dataset.md'

# dataset argument -> data key, for every loader
_SHARED = (
    ('type', 'dataset_type'),
    ('data_root', 'data_root'),
    ('count_file', 'count_file'),
    ('num_classes', 'num_classes'),
    ('feat_dim', 'feat_dim'),
    ('head_thr', 'head_thr'),
    ('tail_thr', 'tail_thr'),
)
# loader -> (split key, clip-length key)
_LOADERS = OrderedDict(
    train_dataloader=('train_split', 'train_clip_len'),
    val_dataloader=('val_split', 'test_clip_len'),
    test_dataloader=('test_split', 'test_clip_len'),
)
_SAMPLER = 'SampleFeatureFrames'
_CLIP_KEYS = ('train_clip_len', 'test_clip_len')
_MISSING = object()

# (container dict, field, dotted path usable in --cfg-options)
_Slot = Tuple[dict, str, str]


def _is_feature_dataset(ds_type) -> bool:
    from mmaction.registry import DATASETS

    from ..datasets import MultiLabelFeatureDataset

    if isinstance(ds_type, str):
        ds_type = DATASETS.get(ds_type)
    return isinstance(ds_type, type) and issubclass(
        ds_type, MultiLabelFeatureDataset
    )


def _key_slots(name: str, ds: dict) -> List[Tuple[str, List[_Slot]]]:
    """``(data key, slots)`` of one loader's dataset dict; ``data_prefix``
    given as a string is turned into ``dict(feat=...)`` in place."""
    split_key, clip_key = _LOADERS[name]
    where = f'{name}.dataset'
    out = [(key, [(ds, arg, f'{where}.{arg}')]) for arg, key in _SHARED]
    prefix = ds.get('data_prefix')
    if isinstance(prefix, str):
        prefix = ds['data_prefix'] = dict(feat=prefix)
    elif prefix is None:  # added to ds once a value is set (apply)
        prefix = dict()
    out.append(('feat_dir', [(prefix, 'feat', f'{where}.data_prefix.feat')]))
    out.append((split_key, [(ds, 'ann_file', f'{where}.ann_file')]))
    if name != 'train_dataloader':
        # val / test group the classes by the training list when there is
        # no count file
        slot = (ds, 'train_ann_file', f'{where}.train_ann_file')
        out.append(('train_split', [slot]))
    pipeline = ds.get('pipeline') or []
    samplers = [
        (t, 'clip_len', f'{where}.pipeline.{i}.clip_len')
        for i, t in enumerate(pipeline)
        if isinstance(t, dict) and t.get('type') == _SAMPLER
    ]
    out.append((clip_key, samplers))
    return out


class _Plan:
    """What the data keys of a config would change in its loaders."""

    def __init__(self) -> None:
        self.changes: List[tuple] = []  # (slot, key, old, new, dataset)
        self.conflicts: List[str] = []
        self.applied: List[str] = []


def _plan(cfg) -> Optional[_Plan]:
    """Compare the data keys of ``cfg`` with its feature loaders.

    ``cfg``'s loaders are replaced by copies (a loader may share its dicts
    with another, e.g. ``test_dataloader = val_dataloader``); the returned
    slots point into them.
    """
    keys = {k: cfg.get(k) for k in DATA_KEYS if k in cfg}
    if not keys:
        return None
    record = cfg.get(RECORD_KEY) or {}
    plan = _Plan()
    for name in _LOADERS:
        loader = cfg.get(name)
        if not isinstance(loader, dict) or not isinstance(
            loader.get('dataset'), dict
        ):
            continue
        loader = cfg[name] = copy.deepcopy(loader)
        ds = loader['dataset']
        if not _is_feature_dataset(ds.get('type', keys.get('dataset_type'))):
            continue
        plan.applied.append(name)
        for key, slots in _key_slots(name, ds):
            top = keys.get(key)
            rec = record.get(key, _MISSING)
            if rec is not _MISSING and top == rec:
                continue  # the key is as written: the loaders rule
            if top is None and (rec is _MISSING or key in _CLIP_KEYS):
                continue  # None: leave the dataset / pipeline alone
            if not slots:
                plan.conflicts.append(
                    f'{key}={top!r} is set but {name}.dataset.pipeline has '
                    f'no {_SAMPLER}; set {key}=None to leave the pipeline '
                    'alone'
                )
            for slot in slots:
                container, field, where = slot
                cur = container.get(field)
                if cur == top:
                    continue
                if cur is None or (rec is not _MISSING and cur == rec):
                    plan.changes.append((slot, key, cur, top, ds))
                elif rec is _MISSING:
                    plan.conflicts.append(
                        f'{where}={cur!r} disagrees with the data key '
                        f'{key}={top!r}: set {key} (once, at the top level '
                        'of the config or with --cfg-options) instead of the '
                        f'per-loader value, see {DOC}'
                    )
                else:
                    plan.conflicts.append(
                        f'{where}={cur!r} disagrees with the data key '
                        f'{key}={top!r}, and the loaders were written with '
                        f'{key}={rec!r}: both were changed; set {key} only '
                        f'(or only the loader values), see {DOC}'
                    )
    return plan


def apply_data_keys(cfg) -> Optional[list]:
    """Copy the data keys of ``cfg`` that changed into its feature loaders.

    See the module docstring for which side wins. Afterwards the record
    (``cfg.loader_data_keys``) holds the keys' values, so a second call
    changes nothing and :func:`check_data_keys` passes.

    Args:
        cfg (Config | dict): The config, changed in place.

    Returns:
        list | None: Names of the feature dataloaders (the keys were applied
        to them), or None when the config declares no data key.

    Raises:
        ValueError: A loader holds a value that disagrees with a data key
            (both changed, or a key the config does not record), or a
            clip-length key changed and the loader's pipeline has no
            ``SampleFeatureFrames``.
    """
    plan = _plan(cfg)
    if plan is None:
        return None
    if plan.conflicts:
        raise ValueError('; '.join(plan.conflicts))
    for (container, field, _), _key, _old, new, ds in plan.changes:
        if new is None:  # the dataset's default
            container.pop(field, None)
        else:
            container[field] = new
        if field == 'feat':
            ds['data_prefix'] = container
    if plan.applied:
        record = dict(cfg.get(RECORD_KEY) or {})
        record.update({k: cfg.get(k) for k in DATA_KEYS if k in cfg})
        cfg[RECORD_KEY] = record
    return plan.applied


def loader_options(cfg) -> List[str]:
    """``--cfg-options`` that write the changed data keys of ``cfg`` into
    its loaders (``key=value`` strings), e.g.
    ``train_dataloader.dataset.data_root=data/mine``."""
    plan = _plan(copy.deepcopy(cfg))
    if plan is None:
        return []
    return [f'{where}={new}' for (_, _, where), _, _, new, _ in plan.changes]


def check_data_keys(cfg) -> None:
    """Raise if a data key of ``cfg`` is not what its loaders read.

    For the entry points that build the loaders as written (MMAction2's
    ``tools/train.py`` / ``tools/test.py``, ``Runner.from_cfg``): a data key
    set after the base wrote the loaders (a child config's
    ``data_root = ...`` or ``--cfg-options data_root=...``) would otherwise
    be silently ignored. ``cfg`` is not changed.

    Raises:
        ValueError: naming each such key, its value, the loader values
            and the fix (meid_mmaction's tools, or the loader values as
            ``--cfg-options``).
    """
    plan = _plan(copy.deepcopy(cfg))
    if plan is None:
        return
    if plan.conflicts:
        raise ValueError('; '.join(plan.conflicts))
    if not plan.changes:
        return
    by_key: Dict[str, List[str]] = OrderedDict()
    options = []
    for (_, _, where), key, old, new, _ in plan.changes:
        by_key.setdefault(key, []).append(f'{where}={old!r}')
        options.append(f'{where}={new}')
    found = '; '.join(
        f'{key}={cfg.get(key)!r} is set at the top level of the config but '
        f'the loaders read {", ".join(wheres)}'
        for key, wheres in by_key.items()
    )
    raise ValueError(
        f'{found}. A data key set in a child config or with --cfg-options '
        'does not reach the dataloaders a base config wrote; only '
        "meid_mmaction's tools/train.py, tools/test.py and "
        'tools/data/check_dataset.py copy it there. Fix: run those tools, '
        'or set the loader values too (in the config, or --cfg-options '
        f'{" ".join(options)}); see {DOC}'
    )
