"""The data keys: a feature dataset's few settings, written once.

mmengine evaluates a base config when it reads it, so a dataloader written
in a base from ``data_root`` keeps the base's value even when a child
config (or ``--cfg-options``) sets ``data_root`` again. The feature-dataset
bases (``configs/_base_/datasets/*.py``) therefore leave these settings out
of their dataloaders and declare them as top-level *data keys*;
:func:`apply_data_keys` copies the final values (after every child config
and ``--cfg-options``) into ``train/val/test_dataloader``.
``tools/train.py``, ``tools/test.py`` and ``tools/data/check_dataset.py``
call it; a script that builds a ``Runner`` itself calls it before
``Runner.from_cfg``.

A data key is applied to a dataloader whose dataset is a
:class:`MultiLabelFeatureDataset` (or a subclass): the loader gets the value
where it has none, keeps an equal one, and a different one is an error
(a value set in one loader would otherwise be silently replaced). ``None``
leaves the dataset's own default.
"""

import copy
from collections import OrderedDict
from typing import Dict, List, Optional

#: Data key -> what it sets (documented in docs/custom_dataset.md).
DATA_KEYS: Dict[str, str] = OrderedDict(
    dataset_type='dataset type of the three loaders',
    data_root='data_root of the three datasets',
    feat_dir="data_prefix['feat'] (relative to data_root)",
    count_file='training class-count file (relative to data_root)',
    num_classes="num_classes (also of the model's batch blending, "
    'FrameStack / MultiLabelMixup, when its config leaves it out)',
    feat_dim='feat_dim (checked when a video is opened)',
    head_thr='head classes: more than head_thr training videos',
    tail_thr='tail classes: at most tail_thr training videos',
    train_split="train_dataloader's ann_file (relative to data_root)",
    val_split="val_dataloader's ann_file",
    test_split="test_dataloader's ann_file",
    train_clip_len='clip_len of SampleFeatureFrames, train pipeline',
    test_clip_len='clip_len of SampleFeatureFrames, val/test pipelines',
)

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


def _is_feature_dataset(ds_type) -> bool:
    from mmaction.registry import DATASETS

    from ..datasets import MultiLabelFeatureDataset

    if isinstance(ds_type, str):
        ds_type = DATASETS.get(ds_type)
    return isinstance(ds_type, type) and issubclass(
        ds_type, MultiLabelFeatureDataset
    )


def _put(target: dict, key: str, value, where: str, data_key: str) -> None:
    """Set ``target[key] = value`` unless it holds another value."""
    if value is None:
        return
    if key in target and target[key] is not None and target[key] != value:
        raise ValueError(
            f'{where}={target[key]!r} disagrees with the data key '
            f'{data_key}={value!r}: set {data_key} (once, at the top level '
            'of the config or with --cfg-options) instead of the per-loader '
            'value, see docs/custom_dataset.md'
        )
    target[key] = value


def _samplers(pipeline) -> List[dict]:
    return [
        t
        for t in (pipeline or [])
        if isinstance(t, dict) and t.get('type') == _SAMPLER
    ]


def apply_data_keys(cfg) -> Optional[list]:
    """Copy the data keys of ``cfg`` into its feature dataloaders.

    Args:
        cfg (Config | dict): The config, changed in place.

    ``num_classes`` also goes to the model's batch blending
    (``model.data_preprocessor.blending``, e.g. FrameStack), so a config
    states the number of classes once.

    Returns:
        list | None: Names of the dataloaders the keys were applied to, or
        None when the config declares no data key.

    Raises:
        ValueError: A dataloader already holds a different value than a data
            key, or a clip-length key is set and the loader's pipeline has
            no ``SampleFeatureFrames``.
    """
    keys = {k: cfg.get(k) for k in DATA_KEYS if k in cfg}
    if not keys:
        return None
    applied = []
    for name, (split_key, clip_key) in _LOADERS.items():
        loader = cfg.get(name)
        if not isinstance(loader, dict) or not isinstance(
            loader.get('dataset'), dict
        ):
            continue
        # a loader may share its dicts with another (test = val): copy
        loader = cfg[name] = copy.deepcopy(loader)
        ds = loader['dataset']
        if not _is_feature_dataset(ds.get('type', keys.get('dataset_type'))):
            continue
        where = f'{name}.dataset'
        for arg, key in _SHARED:
            _put(ds, arg, keys.get(key), f'{where}.{arg}', key)
        if keys.get('feat_dir') is not None:
            prefix = ds.get('data_prefix')
            if isinstance(prefix, str):
                ds['data_prefix'] = dict(feat=prefix)
            elif prefix is None:
                ds['data_prefix'] = dict()
            _put(
                ds['data_prefix'],
                'feat',
                keys['feat_dir'],
                f"{where}.data_prefix['feat']",
                'feat_dir',
            )
        _put(
            ds, 'ann_file', keys.get(split_key), f'{where}.ann_file', split_key
        )
        if (
            name != 'train_dataloader'
            and ds.get('count_file') is None
            and keys.get('train_split') is not None
        ):
            # no count file: val/test group classes by the training list
            _put(
                ds,
                'train_ann_file',
                keys['train_split'],
                f'{where}.train_ann_file',
                'train_split',
            )
        clip_len = keys.get(clip_key)
        if clip_len is not None:
            samplers = _samplers(ds.get('pipeline'))
            if not samplers:
                raise ValueError(
                    f'{clip_key}={clip_len!r} is set but {where}.pipeline '
                    f'has no {_SAMPLER}; set {clip_key}=None to leave the '
                    'pipeline alone'
                )
            for i, t in enumerate(samplers):
                _put(
                    t,
                    'clip_len',
                    clip_len,
                    f'{where}.pipeline[{_SAMPLER} #{i}].clip_len',
                    clip_key,
                )
        applied.append(name)
    _apply_blending_classes(cfg, keys.get('num_classes'))
    return applied


def _apply_blending_classes(cfg, num_classes) -> None:
    """Give ``model.data_preprocessor.blending`` the ``num_classes`` data
    key (same rule as the loaders: a different value is an error)."""
    if num_classes is None:
        return
    model = cfg.get('model')
    pre = model.get('data_preprocessor') if isinstance(model, dict) else None
    blending = pre.get('blending') if isinstance(pre, dict) else None
    if not isinstance(blending, dict):
        return
    model = cfg['model'] = copy.deepcopy(model)
    _put(
        model['data_preprocessor']['blending'],
        'num_classes',
        num_classes,
        'model.data_preprocessor.blending.num_classes',
        'num_classes',
    )
