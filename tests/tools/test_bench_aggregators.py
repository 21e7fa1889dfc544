"""bench_aggregators accuracy arms: config + overrides for the harness."""

import importlib
import json
import os.path as osp
import sys

BENCH = osp.abspath(
    osp.join(osp.dirname(__file__), '..', '..', 'tools', 'benchmark')
)


def _import(name):
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)
    return importlib.import_module(name)


def test_arms_resolve_to_the_shipped_configs_with_the_arm_head(tmp_path):
    tool = _import('bench_aggregators')
    study = _import('study')
    meta = dict(num_classes=6, feat_dim=8, group_thresholds=[20, 4])
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    args = tool.parse_args(
        [
            'accuracy',
            str(tmp_path / 'w'),
            '--data-root',
            str(tmp_path),
            '--epochs',
            '3',
            '--netvlad-hidden',
            '96',
        ]
    )
    netvlad = tool.make_arm(args, meta, 'netvlad')
    assert netvlad.config == 'nonlinear_synthetic.py'
    cfg = study.build_cfg(netvlad, 1, 0.02, str(tmp_path / 'r'))
    head = cfg.model.cls_head
    assert head.type == 'AggregatorClsHead'
    assert head.num_classes == 6 and head.in_channels == 8
    assert [a['type'] for a in head.aggregators] == ['NetVLAD']
    assert head.aggregators[0]['hidden_channels'] == 96
    assert 'dropout_ratio' not in head  # the nonlinear head is replaced
    assert cfg.train_cfg.max_epochs == 6  # single-stage arms: 2 E
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.randomness.seed == 1
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.train_dataloader.dataset.feature_bank.dtype == 'float32'
    meid = tool.make_arm(args, meta, 'meid+netvlad')
    assert meid.config == 'meid_synthetic.py'
    cfg = study.build_cfg(meid, 0, 0.02, str(tmp_path / 'r'))
    assert cfg.train_cfg.type == 'TwoStageTrainLoop'
    assert cfg.train_cfg.stage1.lr == 0.02
    assert abs(cfg.train_cfg.stage2.lr - 0.002) < 1e-15  # 0.1 x lr
    assert cfg.train_cfg.stage1.max_epochs == 3
    assert cfg.model.cls_head.type == 'MEIDHead'


def test_diagnostic_options_change_only_their_part(tmp_path):
    """--head-cfg / --stage1-only / --netvlad-cfg / --replace-netvlad
    (issue 16's diagnostics) reach the arm's resolved config."""
    tool = _import('bench_aggregators')
    study = _import('study')
    meta = dict(num_classes=6, feat_dim=8, group_thresholds=[20, 4])
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    common = ['accuracy', str(tmp_path / 'w'), '--data-root', str(tmp_path)]
    args = tool.parse_args(
        [
            *common,
            '--head-cfg',
            '{"aggregator_input": "frames"}',
            '--netvlad-cfg',
            '{"mean_branch": true}',
            '--stage1-only',
        ]
    )
    cfg = study.build_cfg(
        tool.make_arm(args, meta, 'meid+netvlad'), 0, 0.01, str(tmp_path)
    )
    head = cfg.model.cls_head
    assert head.aggregator_input == 'frames'
    assert head.aggregator['type'] == 'NetVLAD'
    assert head.aggregator['mean_branch'] is True
    assert tuple(cfg.train_cfg.stages) == (1,)
    args = tool.parse_args(
        [*common, '--replace-netvlad', '{"type": "MeanPooling"}']
    )
    meid = study.build_cfg(
        tool.make_arm(args, meta, 'meid+netvlad'), 0, 0.01, str(tmp_path)
    )
    assert meid.model.cls_head.aggregator == dict(type='MeanPooling')
    assert tuple(meid.train_cfg.stages) == (1, 2)
    pair = study.build_cfg(
        tool.make_arm(args, meta, 'netvlad+attention'), 0, 0.01, str(tmp_path)
    )
    assert [a['type'] for a in pair.model.cls_head.aggregators] == [
        'MeanPooling',
        'AttentionPooling',
    ]
