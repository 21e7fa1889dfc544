import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest

from meid_mmaction.datasets.dataset_check import (
    Problems,
    check_count_file,
    check_dataset,
    check_label_list,
    format_report,
    splits_from_config,
)

CLI = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'data', 'check_dataset.py'
)


def _cli():
    spec = importlib.util.spec_from_file_location('check_dataset', CLI)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return str(path)


def _dataset(tmp_path, ids_labels, shape=(6, 4)):
    feat = tmp_path / 'feat'
    feat.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for vid, _ in ids_labels:
        np.save(feat / f'{vid}.npy', rng.random(shape, dtype=np.float32))
    lst = _write(
        tmp_path / 'train.lst',
        ''.join(f'{v} {",".join(map(str, lab))}\n' for v, lab in ids_labels),
    )
    return lst, str(feat)


def _count_file(tmp_path, counts, name='counts.lst'):
    return _write(
        tmp_path / name,
        ''.join(f'class {i} {i} {c}\n' for i, c in enumerate(counts)),
    )


def test_label_list_collects_every_problem(tmp_path):
    lst = _write(tmp_path / 'a.lst', 'v1 0,1\nv2\nv3 7\nv1 1\nv4 x\nv5 2\n')
    problems = Problems()
    ids, labels = check_label_list(lst, 3, problems)
    assert ids == ['v1', 'v5']
    assert labels == [[0, 1], [2]]
    assert problems.count() == 4
    g = problems.groups
    assert g['list_format']['examples'][0].startswith(f'{lst}:2: expected')
    assert (
        'a.lst:3: label 7 of video' in g['label_out_of_range']['examples'][0]
    )
    assert 'outside [0, 3)' in g['label_out_of_range']['examples'][0]
    assert (
        "a.lst:4: duplicate video id 'v1' (first on line 1)"
        in g['duplicate_id']['examples'][0]
    )
    assert "a.lst:5: label 'x'" in g['bad_label']['examples'][0]


def test_count_file_checks(tmp_path):
    problems = Problems()
    path = _write(tmp_path / 'c.lst', 'a b 0 2.0\nc 1 1\nbad line\n')
    n = check_count_file(path, 3, [[0], [0, 1], [1]], problems)
    assert n == 2
    assert problems.count('count_format') == 1
    assert problems.count('num_classes_mismatch') == 1
    assert problems.count('count_mismatch') == 1
    msg = problems.groups['count_mismatch']['examples'][0]
    assert msg.startswith(f'{path}:2: class 1 has count 1 but')
    assert 'has 2 videos' in msg
    assert (
        'lists 2 classes, expected num_classes=3'
        in problems.groups['num_classes_mismatch']['examples'][0]
    )


def test_ok_and_broken_features(tmp_path):
    items = [(f'v{i}', [i % 3]) for i in range(8)]
    lst, feat = _dataset(tmp_path, items)
    counts = _count_file(tmp_path, [3, 3, 2])
    splits = dict(
        train=dict(ann_file=lst, feature_root=feat, feat_dim=4, num_frames=6)
    )
    report = check_dataset(splits, None, counts, workers=2, progress=False)
    assert report['ok'], format_report(report)
    assert report['num_classes'] == 3
    assert report['splits']['train']['features_ok'] == 8
    assert 'OK: no problem found' in format_report(report)

    os.remove(osp.join(feat, 'v0.npy'))
    bad = np.zeros((6, 4), np.float32)
    bad[2, 1] = np.nan
    bad[3, 3] = np.inf
    np.save(osp.join(feat, 'v1.npy'), bad)
    np.save(osp.join(feat, 'v2.npy'), np.zeros((6, 5), np.float32))
    np.save(osp.join(feat, 'v3.npy'), np.zeros((6,), np.float32))
    np.save(osp.join(feat, 'v4.npy'), np.zeros((5, 4), np.float32))
    _write(osp.join(feat, 'v5.npy'), 'not an array')
    report = check_dataset(splits, 3, counts, workers=2, progress=False)
    assert not report['ok']
    kinds = {k: g['count'] for k, g in report['problems'].items()}
    assert kinds == dict(
        missing_feature=1,
        non_finite=1,
        wrong_dim=1,
        wrong_rank=1,
        wrong_frames=1,
        unreadable_feature=1,
    )
    p = report['problems']
    assert 'v0.npy' in p['missing_feature']['examples'][0]
    assert '2 NaN/inf values of 24' in p['non_finite']['examples'][0]
    assert 'shape (6, 5), expected D = 4' in p['wrong_dim']['examples'][0]
    assert 'shape (6,), expected rank 2' in p['wrong_rank']['examples'][0]
    assert 'expected T = 6' in p['wrong_frames']['examples'][0]
    assert report['splits']['train']['features_ok'] == 2
    text = format_report(report)
    assert '6 problems:' in text and 'wrong_dim: 1' in text


def test_cross_split_duplicates_and_examples_cap(tmp_path):
    train = _write(tmp_path / 'train.lst', 'a 0\nb 1\n')
    test = _write(
        tmp_path / 'test.lst', 'b 1\n' + ''.join(f'x{i} 9\n' for i in range(8))
    )
    splits = dict(
        train=dict(ann_file=train, feature_root=str(tmp_path)),
        test=dict(ann_file=test, feature_root=str(tmp_path)),
    )
    report = check_dataset(splits, 2, None, check_features_too=False)
    assert report['problems']['id_in_several_splits']['count'] == 1
    assert (
        "video 'b' is in split 'test'"
        in report['problems']['id_in_several_splits']['examples'][0]
    )
    group = report['problems']['label_out_of_range']
    assert group['count'] == 8 and len(group['examples']) == 5
    assert '... 3 more' in format_report(report)


def test_cli_explicit_and_report(tmp_path, capsys):
    lst, feat = _dataset(tmp_path, [('a', [0]), ('b', [1])])
    counts = _count_file(tmp_path, [1, 1])
    out = str(tmp_path / 'r.json')
    args = [
        '--ann-file',
        lst,
        '--data-prefix',
        feat,
        '--num-classes',
        '2',
        '--count-file',
        counts,
        '--feat-dim',
        '4',
        '--num-frames',
        '6',
        '--workers',
        '2',
        '--report',
        out,
    ]
    assert _cli().main(args) == 0
    assert json.load(open(out))['ok'] is True
    wrong = _count_file(tmp_path, [2, 1], 'wrong.lst')
    args[args.index(counts)] = wrong
    assert _cli().main(args + ['--no-progress']) == 1
    report = json.load(open(out))
    assert report['problems']['count_mismatch']['count'] == 1
    assert 'count_mismatch: 1' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        _cli().main(['--ann-file', lst])


def test_cli_headers_only_skips_values(tmp_path):
    lst, feat = _dataset(tmp_path, [('a', [0]), ('b', [1])])
    bad = np.zeros((6, 4), np.float32)
    bad[2, 1] = np.inf
    np.save(osp.join(feat, 'b.npy'), bad)
    args = [
        '--ann-file',
        lst,
        '--data-prefix',
        feat,
        '--feat-dim',
        '4',
        '--no-progress',
    ]
    assert _cli().main(args) == 1  # the values are read: inf found
    assert _cli().main(args + ['--headers-only']) == 0
    np.save(osp.join(feat, 'b.npy'), np.zeros((6, 5), np.float32))
    assert _cli().main(args + ['--headers-only']) == 1  # shape: D = 5


def test_config_input(tmp_path):
    root = tmp_path / 'data'
    root.mkdir()
    lst, feat = _dataset(root, [('a', [0]), ('b', [1])])
    os.rename(feat, root / 'features')
    _count_file(root, [1, 1], 'count.lst')
    cfg = _write(
        tmp_path / 'cfg.py',
        f"""
num_frames = 6
ds = dict(type='X', data_root={str(root)!r}, ann_file='train.lst',
          count_file='count.lst', num_classes=2, feat_dim=4)
train_dataloader = dict(dataset=dict(data_prefix=dict(feat='features'),
                                     **ds))
val_dataloader = dict(dataset=dict(type='RepeatDataset', times=2,
                                   dataset=dict(data_prefix='features',
                                                **ds)))
""",
    )
    conf = splits_from_config(cfg)
    assert list(conf['splits']) == ['train', 'val']
    assert conf['splits']['val']['feature_root'] == str(root / 'features')
    assert conf['splits']['train']['num_frames'] == 6
    assert conf['count_file'] == str(root / 'count.lst')
    assert conf['num_classes'] == 2
    # the same list read by two splits (e.g. a test loader on the
    # validation list) shares its ids by design: not a problem
    assert _cli().main(['--config', cfg, '--no-progress']) == 0
    bad = _write(
        tmp_path / 'bad.py',
        'train_dataloader = dict(dataset=dict('
        "ann_file='a.lst', data_prefix=dict(video='v')))\n",
    )
    with pytest.raises(ValueError, match="data_prefix has no 'feat' key"):
        splits_from_config(bad)


def test_videolt_subset(shared_data, tmp_path):
    src = osp.join(shared_data, 'videolt', 'train.lst')
    with open(src) as f:
        lines = [next(f) for _ in range(200)]
    lst = _write(tmp_path / 'train.lst', ''.join(lines))
    feat = tmp_path / 'feat'
    feat.mkdir()
    rng = np.random.default_rng(0)
    ids = [ln.split()[0] for ln in lines]
    for vid in ids:
        np.save(feat / f'{vid}.npy', rng.random((150, 8), dtype=np.float32))
    splits = dict(
        train=dict(
            ann_file=lst, feature_root=str(feat), feat_dim=8, num_frames=150
        )
    )
    count_file = osp.join(shared_data, 'videolt', 'count-labels-train.lst')
    report = check_dataset(splits, 1004, None, workers=2, progress=False)
    assert report['ok'], format_report(report)
    assert report['splits']['train']['videos'] == 200
    # the released count file (counts written as "137.0") is well-formed
    # but counts the full training list, not this subset
    report = check_dataset(splits, None, count_file, workers=2, progress=False)
    assert report['num_classes'] == 1004
    assert set(report['problems']) == {'count_mismatch'}
    os.remove(feat / f'{ids[0]}.npy')
    nan = rng.random((150, 8), dtype=np.float32)
    nan[0, 0] = np.nan
    np.save(feat / f'{ids[1]}.npy', nan)
    np.save(feat / f'{ids[2]}.npy', np.zeros((150, 9), np.float32))
    np.save(feat / f'{ids[3]}.npy', np.zeros((150, 8, 1), np.float32))
    rc = _cli().main(
        [
            '--ann-file',
            lst,
            '--data-prefix',
            str(feat),
            '--num-classes',
            '1004',
            '--feat-dim',
            '8',
            '--num-frames',
            '150',
            '--no-progress',
        ]
    )
    assert rc == 1
    report = check_dataset(splits, 1004, None, workers=2, progress=False)
    assert {k: g['count'] for k, g in report['problems'].items()} == dict(
        missing_feature=1, non_finite=1, wrong_dim=1, wrong_rank=1
    )
    assert report['splits']['train']['features_ok'] == 196


def test_cli_cfg_options(tmp_path, capsys):
    root = tmp_path / 'data'
    root.mkdir()
    _, feat = _dataset(root, [('a', [0]), ('b', [1])])
    _write(root / 'other.lst', 'a 0\nb 2\n')
    cfg = _write(
        tmp_path / 'cfg.py',
        f"""
train_dataloader = dict(dataset=dict(
    data_root={str(root)!r}, ann_file='train.lst', num_classes=3,
    feat_dim=4, data_prefix=dict(feat='feat')))
""",
    )
    cli = _cli()
    assert cli.main(['--config', cfg, '--no-progress']) == 0
    # the override is applied: the other list and 2 classes -> label 2 bad
    assert (
        cli.main(
            [
                '--config',
                cfg,
                '--no-progress',
                '--cfg-options',
                'train_dataloader.dataset.ann_file=other.lst',
                'train_dataloader.dataset.num_classes=2',
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert 'other.lst:2: label 2 of video' in out
    with pytest.raises(SystemExit):
        cli.main(
            ['--ann-file', 'x.lst', '--no-features', '--cfg-options', 'a=1']
        )
    assert '--cfg-options needs --config' in capsys.readouterr().err


def test_cli_progress_in_a_log_is_a_line_every_n_percent(tmp_path, capsys):
    """stderr captured (not a terminal): 40 videos, a line every 25 %, not
    one per video."""
    ids = [(f'v{i}', [i % 2]) for i in range(40)]
    lst, feat = _dataset(tmp_path, ids)
    args = ['--ann-file', lst, '--data-prefix', feat, '--num-classes', '2']
    assert _cli().main(args + ['--progress-every', '25']) == 0
    err = capsys.readouterr().err
    assert [x.split(',')[0] for x in err.splitlines()] == [
        f'features of {feat}: {n}/40 ({p}%)'
        for n, p in ((10, 25), (20, 50), (30, 75), (40, 100))
    ]
    assert '\r' not in err
    assert _cli().main(args + ['--no-progress']) == 0
    assert capsys.readouterr().err == ''
    with pytest.raises(SystemExit):
        _cli().main(args + ['--progress-every', '0'])
