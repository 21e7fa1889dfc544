"""The paper-row configs: the aggregator each one promises, its target row
in the docstring, and a README model-zoo line for each."""

import ast
import glob
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
# the real-data configs (demo / example / template configs aside)
ZOO = sorted(
    p
    for p in glob.glob(osp.join(ROOT, 'configs', 'meid_*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'aggregators', '*.py'))
    if 'synthetic' not in p and 'example' not in p and 'template' not in p
)
VIDEOLT_NETVLAD = dict(
    type='NetVLAD',
    num_clusters=64,
    hidden_channels=1024,
    subtract_centers=False,
    gate=True,
    input_norm=True,
    assign_norm=True,
    assign_bias=False,
)
CHARADES_NEXTVLAD = dict(
    type='NeXtVLAD',
    num_clusters=64,
    expansion=2,
    groups=8,
    hidden_channels=1024,
    group_attention=True,
)


def rel(path):
    return osp.relpath(path, ROOT)


def head(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name)).model.cls_head


def assert_sub(cfg, expected):
    for key, value in expected.items():
        assert cfg[key] == value, (key, cfg[key], value)


def test_meid_paper_rows():
    assert_sub(head('meid_videolt_r101.py').aggregator, VIDEOLT_NETVLAD)
    for name in ('meid_videolt_r50.py', 'meid_videolt_tsm_r50.py'):
        assert head(name).get('aggregator') is None
    for name in ('meid_charadeslt_r101.py', 'meid_charadesegolt_r101.py'):
        h = head(name)
        assert h.num_classes == 157
        assert_sub(h.aggregator, CHARADES_NEXTVLAD)
    feat = {
        name: Config.fromfile(osp.join(ROOT, 'configs', name)).feat_dir
        for name in (
            'meid_videolt_r101.py',
            'meid_videolt_r50.py',
            'meid_videolt_tsm_r50.py',
        )
    }
    assert feat == {
        'meid_videolt_r101.py': 'features/ResNet101',
        'meid_videolt_r50.py': 'features/ResNet50',
        'meid_videolt_tsm_r50.py': 'features/TSM-R50',
    }
    ego = Config.fromfile(
        osp.join(ROOT, 'configs', 'meid_charadesegolt_r101.py')
    )
    assert ego.data_root == 'data/charadesegolt'


def test_aggregator_baselines():
    move = head('aggregators/netvlad_attention_bce_videolt_r50.py')
    assert [a['type'] for a in move.aggregators] == [
        'NetVLAD',
        'AttentionPooling',
    ]
    assert_sub(move.aggregators[0], VIDEOLT_NETVLAD)
    assert_sub(
        move.aggregators[1],
        dict(num_heads=4, key_channels=512, value_channels=512),
    )
    assert move.mlp_channels == 2048 and move.loss_cls.gamma == 0.0
    assert (
        head(
            'aggregators/netvlad_attention_focal_videolt_r50.py'
        ).loss_cls.gamma
        == 1.0
    )
    for data in ('videolt_r101', 'charadeslt_r101'):
        for loss, gamma in (('focal', 1.0), ('bce', 0.0)):
            vlad = head(f'aggregators/netvlad_{loss}_{data}.py')
            assert_sub(vlad.aggregators[0], VIDEOLT_NETVLAD)
            nxt = head(f'aggregators/nextvlad_{loss}_{data}.py')
            assert_sub(nxt.aggregators[0], CHARADES_NEXTVLAD)
            for h in (vlad, nxt):
                assert h.loss_cls.gamma == gamma
                assert h.num_classes == (157 if 'charades' in data else 1004)


@pytest.mark.parametrize('path', ZOO, ids=rel)
def test_docstring_states_target_row(path):
    with open(path, encoding='utf-8') as f:
        doc = ast.get_docstring(ast.parse(f.read()))
    assert doc and 'Target row' in doc, path
    assert 'Not yet reproduced' in ' '.join(doc.split()), path


def test_readme_model_zoo_lists_every_config():
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    zoo = readme.split('## Model zoo', 1)[1].split('\n## ', 1)[0]
    for path in ZOO:
        assert f'`{rel(path)}`' in zoo, rel(path)
