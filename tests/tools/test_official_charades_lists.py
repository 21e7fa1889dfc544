"""The released CharadesLT / CharadesEgoLT lists work with the shipped
configs, following docs/data.md (skips without the shared data)."""

import importlib.util
import os.path as osp
import shutil

import pytest
from mmaction.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from meid_mmaction.utils.data_keys import apply_data_keys

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
BASES = {
    'CharadesLT': 'charadeslt_features.py',
    'CharadesEgoLT': 'charadesegolt_features.py',
}
# Published (and measured on the lists): videos, head / medium / tail
EXPECTED = {
    'CharadesLT': ((2213, 469, 1012), (41, 81, 35), (556, 9)),
    'CharadesEgoLT': ((1553, 764, 748), (43, 89, 25), (538, 10)),
}


def _tool(name):
    path = osp.join(REPO, 'tools', 'data', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _datasets(config, options):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    apply_data_keys(cfg)
    init_default_scope('mmaction')
    return [
        DATASETS.build(cfg[f'{s}_dataloader'].dataset)
        for s in ('train', 'val', 'test')
    ]


@pytest.mark.parametrize('bench', sorted(BASES))
def test_copied_lists_with_count_file(bench, shared_data, tmp_path):
    """docs/data.md: copy to <split>.lst, write the count file, check."""
    src = osp.join(shared_data, 'charadeslt_official')
    root = tmp_path / bench
    (root / 'features' / 'ResNet101').mkdir(parents=True)
    for split in ('train', 'val', 'test'):
        shutil.copy(
            osp.join(src, f'{bench}_{split}.txt'), root / f'{split}.lst'
        )
    assert (
        _tool('count_classes').main(
            [
                str(root / 'train.lst'),
                '--num-classes',
                '157',
                '--classes',
                osp.join(shared_data, 'charades', 'Charades_v1_classes.txt'),
                '--out',
                str(root / 'count-labels-train.lst'),
            ]
        )
        == 0
    )
    config = osp.join(REPO, 'configs', '_base_', 'datasets', BASES[bench])
    assert (
        _tool('check_dataset').main(
            [
                '--config',
                config,
                '--no-features',
                '--no-progress',
                '--cfg-options',
                f'data_root={root}',
            ]
        )
        == 0
    )
    sizes, groups, (top, low) = EXPECTED[bench]
    datasets = _datasets(config, dict(data_root=str(root)))
    assert tuple(len(d) for d in datasets) == sizes
    meta = datasets[1].metainfo
    assert (
        tuple(len(meta['class_groups'][g]) for g in ('head', 'medium', 'tail'))
        == groups
    )
    assert (max(meta['class_counts']), min(meta['class_counts'])) == (top, low)
    assert meta['classes'][0] == 'Holding some clothes'


@pytest.mark.parametrize('bench', sorted(BASES))
def test_lists_read_as_released(bench, shared_data, tmp_path):
    """Or point the split keys at the released files (no count file)."""
    src = osp.join(shared_data, 'charadeslt_official')
    options = dict(
        data_root=src,
        feat_dir=str(tmp_path),
        count_file=None,
        **{f'{s}_split': f'{bench}_{s}.txt' for s in ('train', 'val', 'test')},
    )
    config = osp.join(REPO, 'configs', '_base_', 'datasets', BASES[bench])
    sizes, groups, _ = EXPECTED[bench]
    datasets = _datasets(config, options)
    assert tuple(len(d) for d in datasets) == sizes
    for d in datasets:
        meta = d.metainfo
        assert (
            tuple(
                len(meta['class_groups'][g])
                for g in ('head', 'medium', 'tail')
            )
            == groups
        )
    assert (
        _tool('check_dataset').main(
            [
                '--config',
                config,
                '--no-features',
                '--no-progress',
                '--cfg-options',
                *[f'{k}={v}' for k, v in options.items()],
            ]
        )
        == 0
    )
