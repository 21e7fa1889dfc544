"""Data keys: set once (child config or --cfg-options), honoured by the
three feature dataloaders; a conflicting per-loader value is an error."""

import copy
import os.path as osp

import pytest
from mmengine.config import Config

import meid_mmaction  # noqa: F401
from meid_mmaction.utils.data_keys import (
    DATA_KEYS,
    RECORD_KEY,
    apply_data_keys,
    check_data_keys,
    loader_options,
)

CONFIGS = osp.abspath(osp.join(osp.dirname(__file__), '..', 'configs'))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _load(name, options=None, text=None, tmp_path=None):
    path = osp.join(CONFIGS, name)
    if text is not None:
        child = tmp_path / 'child.py'
        child.write_text(f'_base_ = [{path!r}]\n' + text)
        path = str(child)
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    assert apply_data_keys(cfg) == list(LOADERS)
    return cfg


def _datasets(cfg):
    return [cfg[k].dataset for k in LOADERS]


def _clip_lens(cfg):
    return [
        [
            t.clip_len
            for t in cfg[k].dataset.pipeline
            if t.type == 'SampleFeatureFrames'
        ]
        for k in LOADERS
    ]


def test_shipped_bases_fill_the_loaders():
    cfg = _load('meid_videolt_r101.py')
    for ds, split in zip(
        _datasets(cfg), ('train.lst', 'validate.lst', 'test.lst')
    ):
        assert ds.type == 'VideoLTDataset'
        assert ds.data_root == 'data/videolt'
        assert ds.ann_file == split
        assert ds.data_prefix == dict(feat='features/ResNet101')
        assert (ds.num_classes, ds.feat_dim, ds.head_thr, ds.tail_thr) == (
            1004,
            2048,
            500,
            100,
        )
        assert ds.count_file == 'count-labels-train.lst'
    assert _clip_lens(cfg) == [[60], [150], [150]]
    assert cfg.train_dataloader.sampler == dict(type='DefaultSampler')
    cfg = _load('meid_charadeslt_r101.py')
    assert [d.ann_file for d in _datasets(cfg)] == [
        'train.lst',
        'val.lst',
        'test.lst',
    ]
    assert _clip_lens(cfg) == [[60], [200], [200]]
    cfg = _load('meid_charadesegolt_r101.py')
    assert {d.data_root for d in _datasets(cfg)} == {'data/charadesegolt'}
    assert {d.type for d in _datasets(cfg)} == {'CharadesLTDataset'}


@pytest.mark.parametrize(
    'name,feat',
    [
        ('meid_videolt_r50.py', 'features/ResNet50'),
        ('meid_videolt_tsm_r50.py', 'features/TSM-R50'),
    ],
)
def test_backbone_configs(name, feat):
    for ds in _datasets(_load(name)):
        assert ds.data_prefix == dict(feat=feat)


def test_cfg_options_override_once():
    cfg = _load(
        'meid_videolt_r101.py',
        {
            'feat_dir': 'features/TSM-R50',
            'data_root': 'data/elsewhere',
            'val_split': 'my_val.lst',
            'test_clip_len': 30,
            'head_thr': 7,
        },
    )
    for ds in _datasets(cfg):
        assert ds.data_prefix == dict(feat='features/TSM-R50')
        assert ds.data_root == 'data/elsewhere'
        assert ds.head_thr == 7
    assert cfg.val_dataloader.dataset.ann_file == 'my_val.lst'
    assert cfg.test_dataloader.dataset.ann_file == 'test.lst'
    assert _clip_lens(cfg) == [[60], [30], [30]]


def test_child_config_overrides_once(tmp_path):
    cfg = _load(
        'meid_synthetic.py',
        text="""
data_root = 'data/mine'
dataset_type = 'CharadesLTDataset'
count_file = None
num_classes = 65
train_split = 'a.lst'
test_split = 'c.lst'
train_clip_len = 8
""",
        tmp_path=tmp_path,
    )
    train, val, test = _datasets(cfg)
    assert {d.data_root for d in (train, val, test)} == {'data/mine'}
    assert {d.type for d in (train, val, test)} == {'CharadesLTDataset'}
    assert {d.num_classes for d in (train, val, test)} == {65}
    assert (train.ann_file, val.ann_file, test.ann_file) == (
        'a.lst',
        'validate.lst',
        'c.lst',
    )
    # no count file: val / test group the classes by the training list
    assert 'count_file' not in train
    assert 'train_ann_file' not in train
    assert val.train_ann_file == test.train_ann_file == 'a.lst'
    assert _clip_lens(cfg) == [[8], [48], [48]]


def test_loader_value_set_on_purpose_wins():
    """A loader value set after the base (as in an MMAction2 config) is
    kept by our tools and accepted by the check."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'meid_videolt_r101.py'))
    cfg.merge_from_dict({'val_dataloader.dataset.data_root': 'data/other'})
    check_data_keys(cfg)
    apply_data_keys(cfg)
    assert cfg.val_dataloader.dataset.data_root == 'data/other'
    assert cfg.train_dataloader.dataset.data_root == 'data/videolt'


def test_both_changed_is_an_error():
    cfg = Config.fromfile(osp.join(CONFIGS, 'meid_videolt_r101.py'))
    cfg.merge_from_dict(
        {
            'train_dataloader.dataset.data_prefix': dict(feat='x'),
            'feat_dir': 'features/ResNet50',
        }
    )
    match = (
        r"train_dataloader.dataset.data_prefix.feat='x' disagrees with "
        r"the data key feat_dir='features/ResNet50', and the loaders were "
        r"written with feat_dir='features/ResNet101': both were changed"
    )
    with pytest.raises(ValueError, match=match):
        apply_data_keys(cfg)
    with pytest.raises(ValueError, match=match):
        check_data_keys(cfg)


def test_unrecorded_conflicting_loader_value_is_an_error():
    """A config that declares data keys without recording what its loaders
    were written with: a loader value that differs is an error."""
    cfg = dict(
        data_root='data/a',
        val_dataloader=dict(
            dataset=dict(type='MultiLabelFeatureDataset', data_root='data/b')
        ),
    )
    with pytest.raises(
        ValueError,
        match=r"val_dataloader.dataset.data_root='data/b' disagrees with "
        r"the data key data_root='data/a': set data_root \(once",
    ):
        apply_data_keys(cfg)


def test_equal_loader_value_and_idempotence():
    cfg = _load('meid_synthetic.py')
    before = cfg.to_dict()
    assert apply_data_keys(cfg) == list(LOADERS)
    assert cfg.to_dict() == before


def test_clip_len_needs_the_sampler():
    cfg = Config.fromfile(osp.join(CONFIGS, 'meid_synthetic.py'))
    cfg.train_dataloader.dataset.pipeline = [dict(type='OpenFeatures')]
    assert apply_data_keys(cfg) == list(LOADERS)  # as written: no change
    cfg.train_clip_len = 12
    with pytest.raises(
        ValueError,
        match='train_clip_len=12 is set but '
        'train_dataloader.dataset.pipeline has no '
        'SampleFeatureFrames',
    ):
        apply_data_keys(cfg)
    cfg.train_clip_len = None
    assert apply_data_keys(cfg) == list(LOADERS)


def test_other_datasets_and_plain_configs_untouched():
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'meid_r50_videodataset_example.py')
    )
    before = cfg.to_dict()
    assert apply_data_keys(cfg) == []
    assert cfg.to_dict() == before
    plain = dict(
        train_dataloader=dict(
            dataset=dict(type='MultiLabelFeatureDataset', data_root='x')
        )
    )
    assert apply_data_keys(plain) is None
    assert set(DATA_KEYS) >= {'data_root', 'feat_dir', 'val_split'}


def _write_lists(root, splits, dim, frames):
    """Lists of ``(video id, labels)`` per split name, features in feats/."""
    import numpy as np

    rng = np.random.default_rng(0)
    (root / 'feats').mkdir(parents=True)
    for split, videos in splits.items():
        with open(root / split, 'w') as f:
            for vid, labels in videos:
                f.write(f'{vid} {",".join(map(str, labels))}\n')
                np.save(
                    root / 'feats' / f'{vid}.npy',
                    rng.standard_normal((frames, dim)).astype('float32'),
                )


def test_child_config_with_data_keys_trains(tmp_path):
    """A child of a shipped config that sets only the data keys (and the
    head's sizes from them) trains and tests on its own data, thresholds
    and split names."""
    import argparse

    from meid_mmaction.utils.cli import build_runner, load_config

    counts = [5, 4, 2, 1, 1]  # head > 3: 0, 1; tail <= 1: 3, 4
    train = [
        (f't{c}_{i}', [c]) for c, n in enumerate(counts) for i in range(n)
    ]
    held = [(f'{{}}{c}', [c, (c + 1) % 5]) for c in range(5)]
    _write_lists(
        tmp_path / 'mine',
        {
            'tr.lst': train,
            'dev.lst': [(v.format('d'), y) for v, y in held],
            'eval.lst': [(v.format('e'), y) for v, y in held],
        },
        dim=6,
        frames=7,
    )
    child = tmp_path / 'meid_mine.py'
    child.write_text(f"""_base_ = [{osp.join(CONFIGS, 'meid_synthetic.py')!r}]
data_root = {str(tmp_path / 'mine')!r}
feat_dir = 'feats'
count_file = None
num_classes = 5
feat_dim = 6
head_thr = 3
tail_thr = 1
train_split = 'tr.lst'
val_split = 'dev.lst'
test_split = 'eval.lst'
train_clip_len = 4
test_clip_len = 7
model = dict(cls_head=dict(num_classes=num_classes, in_channels=feat_dim))
""")
    options = {
        'train_cfg.stage1.max_epochs': 1,
        'train_cfg.stage2.max_epochs': 1,
        'default_hooks.logger.interval': 1,
        'visualizer.vis_backends': [],
    }
    for loader in LOADERS:
        options.update(
            {
                f'{loader}.num_workers': 0,
                f'{loader}.persistent_workers': False,
                f'{loader}.batch_size': 4,
            }
        )
    args = argparse.Namespace(
        config=str(child),
        cfg_options=options,
        launcher='none',
        local_rank=0,
        work_dir=str(tmp_path / 'work'),
    )
    runner = build_runner(load_config(args))
    runner.train()
    meta = runner.train_dataloader.dataset.metainfo
    assert meta['class_counts'] == tuple(counts)
    assert meta['group_thresholds'] == (3, 1)
    assert {k: list(v) for k, v in meta['class_groups'].items()} == dict(
        head=[0, 1], medium=[2], tail=[3, 4]
    )
    assert runner.val_dataloader.dataset.ann_file == str(
        tmp_path / 'mine' / 'dev.lst'
    )
    assert (
        runner.val_dataloader.dataset.metainfo['class_groups']
        == meta['class_groups']
    )
    metrics = runner.test()
    assert runner.test_dataloader.dataset.ann_file == str(
        tmp_path / 'mine' / 'eval.lst'
    )
    assert set(metrics) >= {'lt/mAP', 'lt/mAP_head', 'lt/mAP_tail'}


def test_bases_compose(tmp_path):
    """Any model (or method: a model base with a method's change),
    dataset, schedule base and the runtime combine: their keys are disjoint
    (no 'Duplicate key is not allowed among bases')."""
    import glob
    import itertools

    def bases(kind):
        return sorted(glob.glob(osp.join(CONFIGS, '_base_', kind, '*.py')))

    runtime = osp.join(CONFIGS, '_base_', 'default_runtime.py')
    models, datasets, schedules = (
        bases('models') + bases('methods'),
        bases('datasets'),
        bases('schedules'),
    )
    assert len(datasets) >= 5
    keys = {}
    for path in [*models, *datasets, *schedules, runtime]:
        keys[path] = set(Config.fromfile(path).keys())
    for combo in itertools.product(models, datasets, schedules):
        owned = [keys[p] for p in (*combo, runtime)]
        for a, b in itertools.combinations(owned, 2):
            assert not a & b, (combo, a & b)
    # and mmengine agrees on one combination of each dataset
    for i, data in enumerate(datasets):
        child = tmp_path / f'c{i}.py'
        combo = [models[0], data, schedules[0], runtime]
        child.write_text(f'_base_ = {combo!r}\n')
        cfg = Config.fromfile(str(child))
        assert {
            'model',
            'train_dataloader',
            'train_cfg',
            'default_hooks',
        } <= set(cfg.keys())


def _shipped():
    import glob

    paths = glob.glob(osp.join(CONFIGS, '*.py')) + glob.glob(
        osp.join(CONFIGS, '*', '*.py')
    )
    return sorted(p for p in paths if '_base_' not in p)


@pytest.mark.parametrize('path', _shipped(), ids=osp.basename)
def test_shipped_config_loaders_are_complete(path):
    """Every shipped config as MMAction2's tools / ``Runner.from_cfg`` see
    it (no data keys applied): the data keys agree with the loaders, and
    each loader's dataset (pipeline included) builds; ``lazy_init`` so that
    no data file is read."""
    from mmaction.registry import DATASETS
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(path)
    check_data_keys(cfg)
    init_default_scope(cfg.default_scope)
    before = {k: copy.deepcopy(cfg[k]) for k in LOADERS}
    for name in LOADERS:
        ds = DATASETS.build(dict(cfg[name].dataset, lazy_init=True))
        assert len(ds.pipeline.transforms) == len(cfg[name].dataset.pipeline)
    if apply_data_keys(cfg):  # our tools change nothing either
        assert {k: cfg[k] for k in LOADERS} == before
        recorded = {k: cfg[k] for k in DATA_KEYS}
        assert cfg[RECORD_KEY] == recorded


def test_child_top_level_key_is_refused_with_the_fix(tmp_path):
    """A child that sets only ``data_root`` / ``feat_dir``: the check names
    each key, what the loaders read and the --cfg-options that fix it; our
    tools apply the keys instead."""
    child = tmp_path / 'child.py'
    base = osp.join(CONFIGS, 'nonlinear_synthetic.py')
    child.write_text(
        f"_base_ = [{base!r}]\ndata_root = 'data/mine'\nfeat_dir = 'f2'\n"
    )
    cfg = Config.fromfile(str(child))
    with pytest.raises(ValueError) as err:
        check_data_keys(cfg)
    text = str(err.value)
    assert text.startswith(
        "data_root='data/mine' is set at the top level of the config but "
        'the loaders read train_dataloader.dataset.data_root='
        "'data/synthetic_lt', val_dataloader.dataset.data_root="
        "'data/synthetic_lt', test_dataloader.dataset.data_root="
        "'data/synthetic_lt'; feat_dir='f2' is set"
    )
    assert "meid_mmaction's tools/train.py, tools/test.py" in text
    expected = [
        f'{loader}.dataset.{field}'
        for loader in LOADERS
        for field in ('data_root=data/mine', 'data_prefix.feat=f2')
    ]
    assert loader_options(cfg) == expected
    assert '--cfg-options ' + ' '.join(expected) in text
    # the fix: those options make the check pass; our tools apply the keys
    fixed = Config.fromfile(str(child))
    fixed.merge_from_dict(dict(o.split('=') for o in expected))
    check_data_keys(fixed)
    apply_data_keys(cfg)
    check_data_keys(cfg)
    assert {cfg[k].dataset.data_root for k in LOADERS} == {'data/mine'}
    assert cfg[RECORD_KEY]['data_root'] == 'data/mine'
