import json
import math
import os.path as osp
import re

import numpy as np
import pytest

from meid_datatools.charades_lt import (
    PRESETS,
    build_benchmark,
    compute_stats,
    format_stats,
    parse_actions,
    read_charades_csv,
    read_classes,
    split_eval,
    subsample_long_tailed,
    target_counts,
)
from meid_mmaction.datasets.annotations import (
    parse_class_counts,
    parse_label_list,
)
from meid_mmaction.datasets.class_groups import counts_from_labels

HEADER = (
    'id,subject,scene,quality,relevance,verified,script,objects,'
    'descriptions,actions,length\n'
)


def _row(vid, actions, desc=''):
    return f'{vid},,,,,,,,{desc},{actions},10.0\n'


def _write(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return str(path)


def _classes(tmp_path, n=4):
    return _write(
        tmp_path / 'classes.txt',
        ''.join(f'c{i:03d} Class number {i}\n' for i in range(n)),
    )


def test_read_classes(tmp_path):
    assert read_classes(_classes(tmp_path, 3)) == [
        'Class number 0',
        'Class number 1',
        'Class number 2',
    ]
    bad = _write(tmp_path / 'bad.txt', 'c000 A\nx001 B\n')
    with pytest.raises(ValueError, match=r'bad\.txt:2: expected "c<index>'):
        read_classes(bad)
    gap = _write(tmp_path / 'gap.txt', 'c000 A\nc002 B\n')
    with pytest.raises(ValueError, match=r'missing \[1\]'):
        read_classes(gap)
    rep = _write(tmp_path / 'rep.txt', 'c000 A\nc000 B\n')
    with pytest.raises(ValueError, match=r'rep\.txt:2: class c000 repeated'):
        read_classes(rep)


def test_parse_actions():
    assert parse_actions('c003 1.0 2.5;c001 0 3;c003 4 5', 4, 'f:2') == [1, 3]
    assert parse_actions('', 4, 'f:2') == []
    with pytest.raises(ValueError, match=r'f:2: bad action segment'):
        parse_actions('c001 1.0', 4, 'f:2')
    with pytest.raises(ValueError, match=r'f:2: bad action segment .*numbers'):
        parse_actions('c001 a b', 4, 'f:2')
    with pytest.raises(ValueError, match=r'f:2: unknown class id c007'):
        parse_actions('c007 1 2', 4, 'f:2')


def test_read_charades_csv(tmp_path):
    text = (
        HEADER
        + _row('AAA', 'c000 1 2;c002 0 1')
        + _row('BBB', '', desc='"two\nlines"')
        + _row('CCC', 'c001 0 4')
    )
    ids, labels, dropped = read_charades_csv(
        _write(tmp_path / 'a.csv', text), 4
    )
    assert ids == ['AAA', 'CCC']
    assert labels == [[0, 2], [1]]
    assert dropped == ['BBB']
    # the bad row is on line 6: a quoted field spans lines 3-4
    bad = _write(tmp_path / 'b.csv', text + _row('DDD', 'c009 0 1'))
    with pytest.raises(ValueError, match=r'b\.csv:6: unknown class id c009'):
        read_charades_csv(bad, 4)
    seg = _write(tmp_path / 's.csv', HEADER + _row('AAA', 'c001;c002 1 2'))
    with pytest.raises(ValueError, match=r's\.csv:2: bad action segment'):
        read_charades_csv(seg, 4)
    cols = _write(tmp_path / 'c.csv', HEADER + 'AAA,c001 1 2\n')
    with pytest.raises(ValueError, match=r'c\.csv:2: 2 columns, expected 11'):
        read_charades_csv(cols, 4)
    head = _write(tmp_path / 'h.csv', 'id,length\nAAA,3\n')
    with pytest.raises(ValueError, match=r"h\.csv:1: missing column 'act"):
        read_charades_csv(head, 4)
    dup = _write(
        tmp_path / 'd.csv',
        HEADER + _row('AAA', 'c001 0 1') + _row('AAA', 'c002 0 1'),
    )
    with pytest.raises(ValueError, match=r'd\.csv:3: duplicate video id'):
        read_charades_csv(dup, 4)


def test_target_counts_profiles():
    counts = np.array([10, 1000, 100])
    # natural, p = 1: a power of the official counts through the end points
    np.testing.assert_allclose(
        target_counts(counts, 100, 1, 'natural', 1.0), [1, 100, 10]
    )
    # natural, p = 2: u = [1, 0, 0.5] -> 100 * 0.01 ** [1, 0, 0.25]
    np.testing.assert_allclose(
        target_counts(counts, 100, 1, 'natural', 2.0),
        [1, 100, 100 * 0.01**0.25],
    )
    # exp, p = 1: log-linear in rank (rank 0 = class 1, rank 2 = class 0)
    np.testing.assert_allclose(
        target_counts(counts, 100, 1, 'exp', 1.0), [1, 100, 10]
    )
    # zipf, p = 1: 100 / (r + 1), floored at min_count
    np.testing.assert_allclose(
        target_counts(counts, 100, 40, 'zipf', 1.0), [40, 100, 50]
    )
    with pytest.raises(ValueError, match='min_count=5, max_count=2'):
        target_counts(counts, 2, 5)
    with pytest.raises(ValueError, match="unknown profile 'pareto'"):
        target_counts(counts, 100, 1, 'pareto')
    with pytest.raises(ValueError, match=r'classes \[1\] have no video'):
        target_counts([3, 0], 100, 1, 'natural')


def test_subsample_hits_reachable_targets():
    labels = [[0], [0], [0], [1], [1], [0, 1], [2], [2, 0]]
    targets = np.array([2.0, 1.0, 1.0])
    sel = subsample_long_tailed(labels, targets, seed=3)
    got = counts_from_labels([labels[i] for i in sel], 3)
    assert got.tolist() == [2, 1, 1]
    assert sel == sorted(sel)
    assert subsample_long_tailed(labels, targets, seed=3) == sel


def test_subsample_beats_random_subset():
    rng = np.random.default_rng(0)
    probs = np.array([0.6, 0.4, 0.3, 0.2, 0.1, 0.05])
    labels = []
    for _ in range(400):
        lab = np.nonzero(rng.random(6) < probs)[0].tolist()
        labels.append(lab or [0])
    targets = np.array([80, 40, 20, 10, 5, 2], dtype=float)
    sel = subsample_long_tailed(labels, targets, seed=0)

    def err(idx):
        n = counts_from_labels([labels[i] for i in idx], 6)
        return float(((np.log1p(n) - np.log1p(targets)) ** 2).sum())

    rand = rng.choice(400, size=len(sel), replace=False)
    assert err(sel) < 0.1 * err(rand)
    # the size term pulls the subset towards num_videos
    big = subsample_long_tailed(labels, targets, 200, size_weight=1e4)
    assert abs(len(big) - 200) < abs(len(sel) - 200)


def test_split_eval():
    val, test = split_eval(10, 3, 5, seed=1)
    assert len(val) == 3 and len(test) == 5
    assert not set(val) & set(test)
    assert split_eval(10, 3, 5, seed=1) == (val, test)
    with pytest.raises(ValueError, match='num_val=6 \\+ num_test=5'):
        split_eval(10, 6, 5)


def test_compute_stats():
    train = [[0, 1], [0], [0, 2]]
    stats = compute_stats(
        train, [[1]], [[0], [2]], ['a', 'b', 'c'], head_thr=2, tail_thr=1
    )
    assert stats['train_counts'] == [3, 1, 1]
    assert (stats['num_head'], stats['num_medium'], stats['num_tail']) == (
        1,
        0,
        2,
    )
    assert stats['imbalance_ratio'] == 3.0
    assert stats['labels_per_video_train'] == pytest.approx(5 / 3)
    assert stats['labels_per_video_all'] == pytest.approx(8 / 6)
    assert stats['classes_without_test_positive'] == [1]
    assert stats['classes_without_val_positive'] == [0, 2]
    assert 'c001' in format_stats(stats)


def _tiny_charades(tmp_path):
    rng = np.random.default_rng(0)
    probs = np.array([0.7, 0.5, 0.3, 0.2, 0.1])
    rows_tr, rows_te = [], []
    for i in range(120):
        lab = np.nonzero(rng.random(5) < probs)[0]
        act = ';'.join(f'c{c:03d} 0.0 1.5' for c in lab)
        rows_tr.append(_row(f'T{i:03d}', act))
    for i in range(40):
        act = ';'.join(
            f'c{c:03d} 1 2' for c in np.nonzero(rng.random(5) < probs)[0]
        )
        rows_te.append(_row(f'E{i:03d}', act))
    return (
        _write(tmp_path / 'train.csv', HEADER + ''.join(rows_tr)),
        _write(tmp_path / 'test.csv', HEADER + ''.join(rows_te)),
        _classes(tmp_path, 5),
    )


def test_build_benchmark_writes_consistent_files(tmp_path):
    tr, te, cl = _tiny_charades(tmp_path)
    out = str(tmp_path / 'out')
    stats = build_benchmark(
        tr,
        te,
        cl,
        out,
        max_count=40,
        min_count=2,
        num_train=None,
        num_val=10,
        num_test=20,
        head_thr=20,
        tail_thr=5,
    )
    ids, labels = parse_label_list(osp.join(out, 'train.lst'), 5)
    names, counts = parse_class_counts(
        osp.join(out, 'count-labels-train.lst'), 5
    )
    assert names[3] == 'Class number 3'
    assert counts.tolist() == counts_from_labels(labels, 5).tolist()
    assert counts.tolist() == stats['train_counts']
    assert len(parse_label_list(osp.join(out, 'val.lst'))[0]) == 10
    test_ids = parse_label_list(osp.join(out, 'test.lst'))[0]
    assert len(test_ids) == 20
    assert not set(test_ids) & set(ids)
    with open(osp.join(out, 'stats.json')) as f:
        saved = json.load(f)
    assert saved['num_train'] == len(ids) == stats['num_train']
    assert (
        saved['dropped_train_no_action']
        == stats['dropped_train_no_action']
        > 0
    )
    assert saved['imbalance_ratio'] == counts.max() / counts.min()
    again = build_benchmark(
        tr,
        te,
        cl,
        None,
        max_count=40,
        min_count=2,
        num_train=None,
        num_val=10,
        num_test=20,
        head_thr=20,
        tail_thr=5,
    )
    assert again['train_counts'] == stats['train_counts']


def test_cli(tmp_path, capsys):
    import importlib.util

    path = osp.join(
        osp.dirname(__file__),
        '..',
        '..',
        'tools',
        'data',
        'build_charades_lt.py',
    )
    spec = importlib.util.spec_from_file_location('build_charades_lt', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    tr, te, cl = _tiny_charades(tmp_path)
    rc = cli.main(
        [
            '--train-csv',
            tr,
            '--test-csv',
            te,
            '--classes',
            cl,
            '--out-dir',
            str(tmp_path / 'o'),
            '--max-count',
            '30',
            '--min-count',
            '3',
            '--num-train',
            '0',
            '--num-val',
            '5',
            '--num-test',
            '10',
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert 'imbalance ratio (max / min)' in out
    assert re.search(
        r'note: dropped \d+ training and \d+ test videos '
        'without any action',
        out,
    )
    assert osp.isfile(tmp_path / 'o' / 'stats.json')


def test_charades_preset_on_real_files(shared_data, tmp_path):
    d = osp.join(shared_data, 'charades')
    stats = build_benchmark(
        osp.join(d, 'Charades_v1_train.csv'),
        osp.join(d, 'Charades_v1_test.csv'),
        osp.join(d, 'Charades_v1_classes.txt'),
        None,
        **PRESETS['charades'],
    )
    assert stats['num_classes'] == 157
    assert stats['dropped_train_no_action'] == 174
    assert stats['dropped_test_no_action'] == 49
    assert (stats['num_val'], stats['num_test']) == (469, 1012)
    # near the released CharadesLT lists: 41 / 81 / 35, counts 556..9 (IR
    # 61.8), 2,213 videos, 6.28 labels per video; fewer tail classes
    # (docs/data.md)
    assert abs(stats['num_train'] - 2213) < 100
    assert 55 < stats['imbalance_ratio'] < 70
    assert stats['min_train_count'] == 9
    assert abs(stats['num_head'] - 41) <= 5
    assert 15 <= stats['num_tail'] <= 35
    assert 5.5 < stats['labels_per_video_train'] < 7.0
    assert not math.isinf(stats['imbalance_ratio'])


def test_read_charades_timelines(tmp_path):
    from meid_datatools.charades_lt import (
        read_charades_timelines,
    )

    path = _write(
        tmp_path / 'train.csv',
        HEADER
        + ''.join(
            [
                'A1,,,,,,,,,c001 1.5 4.0;c003 -1 12.5;c001 6 6,10.0\n',
                'A2,,,,,,,,,,8.0\n',  # no action: left out
                'A3,,,,,,,,,c000 2 1,5.0\n',  # end before start: one instant
            ]
        ),
    )
    ids, lengths, segs = read_charades_timelines(path, 4)
    assert ids == ['A1', 'A3']
    assert lengths == [10.0, 5.0]
    assert segs == [
        [(1, 1.5, 4.0), (3, 0.0, 10.0), (1, 6.0, 6.0)],
        [(0, 2.0, 2.0)],
    ]
    bad = _write(tmp_path / 'bad.csv', HEADER + 'B1,,,,,,,,,c001 1 2,x\n')
    with pytest.raises(ValueError, match=r"bad\.csv:2: bad length 'x'"):
        read_charades_timelines(bad, 4)
    zero = _write(tmp_path / 'zero.csv', HEADER + 'B1,,,,,,,,,c001 1 2,0\n')
    with pytest.raises(ValueError, match=r'zero\.csv:2: length must be > 0'):
        read_charades_timelines(zero, 4)
    nolen = _write(tmp_path / 'nolen.csv', 'id,actions\nB1,c001 1 2\n')
    with pytest.raises(ValueError, match="missing column 'length'"):
        read_charades_timelines(nolen, 4)


def test_reference_counts_are_the_targets(tmp_path):
    tr, te, cl = _tiny_charades(tmp_path)
    free = build_benchmark(
        tr,
        te,
        cl,
        None,
        max_count=40,
        min_count=2,
        num_train=None,
        num_val=10,
        num_test=20,
        head_thr=20,
        tail_thr=5,
    )
    # the counts of a previous build as the reference: reproduced exactly
    again = build_benchmark(
        tr,
        te,
        cl,
        None,
        num_train=None,
        num_val=10,
        num_test=20,
        head_thr=20,
        tail_thr=5,
        reference_counts=free['train_counts'],
    )
    assert again['target_counts'] == [float(c) for c in free['train_counts']]
    assert again['options']['reference_counts'] is True
    assert (again['num_head'], again['num_tail']) == (
        free['num_head'],
        free['num_tail'],
    )
    with pytest.raises(
        ValueError,
        match='reference_counts must be 5 '
        r'counts >= 0, got shape \(3,\)',
    ):
        build_benchmark(tr, te, cl, None, reference_counts=[1, 2, 3])
