import csv
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest

from meid_datatools.synthetic import (
    PRESETS,
    SyntheticLTConfig,
    generate_synthetic_lt,
    labels,
    make_config,
    power_law_counts,
    render,
)
from meid_mmaction.datasets.annotations import (
    parse_class_counts,
    parse_label_list,
)
from meid_mmaction.datasets.class_groups import (
    counts_from_labels,
    split_groups,
)

# 6 classes, counts 100, 40, 16, 6, 3, 1 (ratio 100), ~110 train videos.
TINY = dict(
    num_classes=6,
    max_count=100,
    min_count=1,
    val_max_count=6,
    test_max_count=8,
    eval_min_count=2,
    feat_dim=8,
    min_frames=6,
    max_frames=10,
    min_seg_frames=2,
    family_size=2,
    head_thr=30,
    tail_thr=5,
    chunk_size=32,
)

TOOL = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'data', 'generate_synthetic.py'
)


def _gen(path, seed=0, **kw):
    return generate_synthetic_lt(str(path), seed=seed, **{**TINY, **kw})


def _all_files(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = osp.join(d, f)
            with open(p, 'rb') as fh:
                out[osp.relpath(p, root)] = fh.read()
    return out


def _segments(root):
    with open(osp.join(root, 'segments.csv'), encoding='utf-8') as f:
        return list(csv.DictReader(f))


def test_power_law_counts():
    np.testing.assert_array_equal(
        power_law_counts(100, 1, 6), [100, 40, 16, 6, 3, 1]
    )
    demo = power_law_counts(300, 2, 50)
    assert demo[0] == 300 and demo[-1] == 2
    assert np.all(np.diff(demo) <= 0)


@pytest.mark.parametrize('preset', sorted(PRESETS))
def test_presets_are_long_tailed_with_three_groups(preset):
    cfg = make_config(preset)
    if preset != 'tiny':  # 'tiny' (8-d) is for smoke tests only
        assert 64 <= cfg.feat_dim <= 128
    if cfg.timeline_source == 'charades':  # counts from the real lists
        return
    counts = power_law_counts(cfg.max_count, cfg.min_count, cfg.num_classes)
    assert counts.max() / counts.min() >= 100
    groups = split_groups(counts, cfg.head_thr, cfg.tail_thr)
    assert all(len(groups[g]) > 0 for g in ('head', 'medium', 'tail'))
    assert 1.1 <= cfg.labels_per_video <= 3.0


def test_files_parse_and_counts_match(tmp_path):
    meta = _gen(tmp_path)
    num_c = TINY['num_classes']
    names, counts = parse_class_counts(
        str(tmp_path / 'count-labels-train.lst'), num_classes=num_c
    )
    assert names == meta['classes']
    ids, labels = parse_label_list(str(tmp_path / 'train.lst'), num_c)
    np.testing.assert_array_equal(counts, counts_from_labels(labels, num_c))
    # exact power-law counts, permuted over class indices
    np.testing.assert_array_equal(
        np.sort(counts)[::-1], [100, 40, 16, 6, 3, 1]
    )
    assert meta['imbalance_ratio'] == counts.max() / counts.min() == 100.0
    assert meta['splits']['train']['class_counts'] == counts.tolist()
    assert meta['splits']['train']['num_videos'] == len(ids)
    n_labels = sum(len(lab) for lab in labels)
    assert n_labels == counts.sum()
    assert meta['splits']['train']['labels_per_video'] == pytest.approx(
        n_labels / len(ids)
    )
    assert 1.1 <= n_labels / len(ids) <= 2.0
    assert all(len(lab) <= 4 for lab in labels)
    assert meta['class_groups'] == split_groups(counts, 30, 5)
    assert meta['group_thresholds'] == [30, 5]
    all_ids = set(ids)
    for split in ('validate', 'test'):
        s_ids, s_labels = parse_label_list(
            str(tmp_path / f'{split}.lst'), num_c
        )
        s_counts = counts_from_labels(s_labels, num_c)
        # every class has at least eval_min_count positives
        assert s_counts.min() >= 2
        assert meta['splits'][split]['class_counts'] == s_counts.tolist()
        assert meta['splits'][split]['classes_without_positives'] == []
        # less skewed than train: ratio of the tempered law
        assert s_counts.max() / s_counts.min() < counts.max() / counts.min()
        assert not all_ids & set(s_ids)
        all_ids |= set(s_ids)
    with open(tmp_path / 'meta.json', encoding='utf-8') as f:
        on_disk = json.load(f)
    assert on_disk['seed'] == 0
    assert on_disk['params'] == dict(make_config('demo', **TINY).__dict__)
    assert on_disk['splits'] == meta['splits']


def test_feature_shapes_and_dtypes(tmp_path):
    meta = _gen(tmp_path)
    lengths = []
    for split in ('train', 'validate', 'test'):
        ids, _ = parse_label_list(str(tmp_path / f'{split}.lst'))
        for vid in ids:
            x = np.load(tmp_path / 'features' / f'{vid}.npy')
            assert x.dtype == np.float32 and x.ndim == 2
            assert x.shape[1] == TINY['feat_dim']
            assert 6 <= x.shape[0] <= 10
            assert np.isfinite(x).all()
            lengths.append(x.shape[0])
        frames = meta['splits'][split]['frames']
        assert frames['min'] >= 6 and frames['max'] <= 10
    assert len(os.listdir(tmp_path / 'features')) == len(lengths)
    assert sum(
        meta['splits'][s]['total_frames'] for s in meta['splits']
    ) == sum(lengths)


def test_deterministic_for_a_seed(tmp_path):
    _gen(tmp_path / 'a', seed=3)
    _gen(tmp_path / 'b', seed=3)
    _gen(tmp_path / 'c', seed=4)
    a, b, c = (_all_files(tmp_path / k) for k in 'abc')
    assert a == b
    assert set(a) != set(c) or any(a[k] != c[k] for k in a)
    feats = [k for k in a if k.endswith('.npy') and k in c]
    assert feats and any(a[k] != c[k] for k in feats)


def test_frame_level_imbalance(tmp_path):
    meta = _gen(tmp_path)
    groups = meta['class_groups']
    rows = _segments(tmp_path)
    for split, s in meta['splits'].items():
        assert 0.0 < s['background_fraction'] < 1.0
        assert s['head_segment_frames'] > s['tail_segment_frames']
        assert s['head_mean_segment_len'] > s['tail_mean_segment_len']
        # recompute the background fraction from segments.csv
        ids, _ = parse_label_list(str(tmp_path / f'{split}.lst'))
        covered = {
            v: np.zeros(len(np.load(tmp_path / 'features' / f'{v}.npy')), bool)
            for v in ids
        }
        head_len, tail_len = [], []
        for r in rows:
            if r['split'] != split:
                continue
            start, length = int(r['start']), int(r['length'])
            assert start >= 0 and start + length <= len(covered[r['video_id']])
            covered[r['video_id']][start : start + length] = True
            if int(r['class']) in groups['head']:
                head_len.append(length)
            elif int(r['class']) in groups['tail']:
                tail_len.append(length)
        total = sum(len(m) for m in covered.values())
        bg = 1 - sum(m.sum() for m in covered.values()) / total
        assert s['background_fraction'] == pytest.approx(bg)
        assert s['head_segment_frames'] == sum(head_len)
        assert s['tail_segment_frames'] == sum(tail_len)


def test_segments_match_labels(tmp_path):
    _gen(tmp_path)
    rows = _segments(tmp_path)
    from_segments = {}
    for r in rows:
        from_segments.setdefault((r['split'], r['video_id']), set()).add(
            int(r['class'])
        )
    n = 0
    for split in ('train', 'validate', 'test'):
        ids, labels = parse_label_list(str(tmp_path / f'{split}.lst'))
        for vid, lab in zip(ids, labels):
            assert from_segments[(split, vid)] == set(lab)
            n += len(lab)
    assert len(rows) == n


def test_noise_free_features_follow_the_model(tmp_path):
    """Without background and noise: background frames are 0, a frame with
    one active class has norm ``a`` (``|mu_c| = 1``), and its adjacent
    difference is ``a delta_c / (l - 1)`` of norm ``a drift / (l - 1)``."""
    drift = 2.0
    _gen(tmp_path, bg_std=0.0, noise_std=0.0, drift_norm=drift)
    by_video = {}
    for r in _segments(tmp_path):
        by_video.setdefault(r['video_id'], []).append(
            (int(r['start']), int(r['length']), float(r['amplitude']))
        )
    checked_norm = checked_diff = 0
    for vid, segs in by_video.items():
        x = np.load(tmp_path / 'features' / f'{vid}.npy').astype(np.float64)
        active = np.zeros(len(x), int)
        for start, length, _ in segs:
            active[start : start + length] += 1
        np.testing.assert_allclose(x[active == 0], 0.0, atol=1e-6)
        for start, length, amp in segs:
            frames = np.arange(start, start + length)
            solo = frames[active[frames] == 1]
            if length % 2 == 1 and (start + length // 2) in solo:
                mid = start + length // 2  # tau = 1/2: no drift
                assert np.linalg.norm(x[mid]) == pytest.approx(amp, rel=1e-5)
                checked_norm += 1
            pairs = [t for t in solo[:-1] if t + 1 in solo]
            for t in pairs:
                d = np.linalg.norm(x[t + 1] - x[t])
                assert d == pytest.approx(amp * drift / (length - 1), rel=1e-4)
                checked_diff += 1
    assert checked_norm > 0 and checked_diff > 0


def test_prototypes_share_components_within_families():
    """``|mu_c| = 1``; classes of one family are confusable (cosine near
    ``shared_weight``), other pairs nearly orthogonal; ``|delta_c|`` fixed."""
    cfg = make_config('demo', feat_dim=128, shared_weight=0.6)
    model = render._class_model(cfg, np.random.default_rng(0))
    protos, family = model['protos'], model['family']
    np.testing.assert_allclose(np.linalg.norm(protos, axis=1), 1.0)
    np.testing.assert_allclose(
        np.linalg.norm(model['drifts'], axis=1), cfg.drift_norm
    )
    assert np.bincount(family).tolist() == [cfg.family_size] * 10
    cos = protos @ protos.T
    same = family[:, None] == family[None]
    off = ~np.eye(cfg.num_classes, dtype=bool)
    assert abs(cos[same & off].mean() - 0.6) < 0.1
    assert abs(cos[~same].mean()) < 0.05
    np.testing.assert_array_equal(
        np.sort(model['counts']), np.sort(power_law_counts(300, 2, 50))
    )


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (
            dict(min_count=2),
            r'imbalance ratio max_count / min_count = 100 / 2 '
            r'= 50\.0 is below min_imbalance_ratio=100\.0',
        ),
        (
            dict(tail_thr=30),
            r'tail_thr < head_thr, got head_thr=30, '
            r'tail_thr=30',
        ),
        (dict(head_thr=200, tail_thr=5), r"leave group\(s\) \['head'\] empty"),
        (
            dict(labels_per_video=5.0),
            r'labels_per_video must be in \[1, '
            r'max_labels_per_video=4\], got 5\.0',
        ),
        (dict(min_frames=1, min_seg_frames=1), r'min_frames must be >= 2'),
        (
            dict(max_frames=4),
            r'max_frames must be >= min_frames, got '
            r'max_frames=4, min_frames=6',
        ),
        (dict(noise_corr=1.0), r'noise_corr must be in \[0, 1\), got 1\.0'),
        (dict(feat_dim=8.5), r'feat_dim must be an integer, got 8\.5'),
        (dict(shared_weight=float('nan')), r'shared_weight must be finite'),
        (dict(num_classes=2), r'num_classes must be >= 3'),
        (dict(bogus=1), r"unknown generator parameter\(s\) \['bogus'\]"),
        (
            dict(preset='huge'),
            r"unknown preset 'huge'; expected one of "
            r"\['ablation', 'charades', 'demo', 'premise', 'premise_static', "
            r"'tiny'\]",
        ),
        (dict(seed=-1), r'seed must be a non-negative integer, got -1'),
        (
            dict(
                labels_per_video=2.0,
                max_labels_per_video=6,
                max_count=300,
                min_count=3,
            ),
            r'train: labels_per_video=2\.0 gives 248 videos, '
            r'fewer than the 300 videos',
        ),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _gen(tmp_path, **kwargs)
    assert not (tmp_path / 'train.lst').exists()


def test_existing_dataset_needs_overwrite(tmp_path):
    _gen(tmp_path)
    stale = tmp_path / 'features' / 'stale_video.npy'
    np.save(stale, np.zeros((2, 2), np.float32))
    with pytest.raises(
        ValueError,
        match=r'already holds a dataset '
        r'\(train\.lst\); pass overwrite=True',
    ):
        _gen(tmp_path)
    _gen(tmp_path, overwrite=True)
    assert not stale.exists()


def test_eval_splits_report_classes_without_positives(tmp_path):
    meta = _gen(tmp_path, eval_min_count=0, val_max_count=1)
    counts = np.array(meta['splits']['validate']['class_counts'])
    missing = np.flatnonzero(counts == 0).tolist()
    assert missing
    assert meta['splits']['validate']['classes_without_positives'] == missing


def test_custom_config_object(tmp_path):
    cfg = SyntheticLTConfig(**TINY)
    meta = generate_synthetic_lt(str(tmp_path), config=cfg, seed=1)
    assert meta['preset'] == 'custom' and meta['seed'] == 1
    with pytest.raises(
        ValueError, match='config must be a SyntheticLTConfig, got dict'
    ):
        generate_synthetic_lt(str(tmp_path / 'x'), config=dict(TINY))


def _load_tool():
    spec = importlib.util.spec_from_file_location('generate_synthetic', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli(tmp_path, capsys):
    tool = _load_tool()
    args = [str(tmp_path / 'out'), '--seed', '2']
    for k, v in TINY.items():
        args += ['--set', f'{k}={v}']
    assert tool.main(args + ['--set', 'shuffle_classes=false']) == 0
    out = capsys.readouterr().out
    assert 'imbalance ratio 100.0' in out
    assert 'classes without positives: none' in out
    _, counts = parse_class_counts(
        str(tmp_path / 'out' / 'count-labels-train.lst')
    )
    # shuffle_classes=false keeps the power law in index order
    np.testing.assert_array_equal(counts, [100, 40, 16, 6, 3, 1])
    with pytest.raises(SystemExit):
        tool.main(args)  # exists, no --overwrite
    assert 'already holds a dataset' in capsys.readouterr().err


@pytest.mark.parametrize(
    'items, match',
    [
        (['feat_dim'], r"--set expects key=value, got 'feat_dim'"),
        (['nope=1'], r"--set: unknown parameter 'nope'"),
        (['feat_dim=a'], r"--set feat_dim: expected a int, got 'a'"),
        (['shuffle_classes=yes'], r'--set shuffle_classes: expected a bool'),
    ],
)
def test_cli_bad_overrides(items, match):
    tool = _load_tool()
    with pytest.raises(ValueError, match=match):
        tool.parse_overrides(items)
    assert tool.parse_overrides(['noise_std=0.5', 'feat_dim=16']) == dict(
        noise_std=0.5, feat_dim=16
    )


def _train_segments(root):
    by_video = {}
    for r in _segments(root):
        if r['split'] == 'train':
            by_video.setdefault(r['video_id'], []).append(
                (int(r['class']), int(r['start']), int(r['length']))
            )
    return by_video


def test_tail_with_head_and_avoid_head_placement(tmp_path):
    kw = dict(
        labels_per_video=1.5,
        max_labels_per_video=4,
        seg_frac_head=0.5,
        seg_frac_tail=0.2,
    )
    meta = _gen(
        tmp_path / 'p', tail_with_head=True, tail_placement='avoid_head', **kw
    )
    head = set(meta['class_groups']['head'])
    _, labels = parse_label_list(str(tmp_path / 'p' / 'train.lst'), 6)
    counts = counts_from_labels(labels, 6)
    np.testing.assert_array_equal(
        counts, meta['splits']['train']['class_counts']
    )
    # every video with a non-head class also has a head class
    assert all(set(lab) & head for lab in labels if set(lab) - head)
    frames = {}
    for vid in _train_segments(tmp_path / 'p'):
        frames[vid] = len(np.load(tmp_path / 'p' / 'features' / f'{vid}.npy'))
    checked = 0
    overlap = {}
    for name in ('p', 'u'):
        if name == 'u':
            _gen(tmp_path / 'u', tail_with_head=True, **kw)
        total = []
        for vid, segs in _train_segments(tmp_path / name).items():
            t = len(np.load(tmp_path / name / 'features' / f'{vid}.npy'))
            busy = np.zeros(t)
            for c, s, n in segs:
                if c in head:
                    busy[s : s + n] += 1
            tails = [(s, n) for c, s, n in segs if c not in head]
            for s, n in tails:
                total.append(busy[s : s + n].sum())
            if name == 'p' and len(tails) == 1:
                # the single non-head segment sits where it overlaps the
                # head segments least
                s, n = tails[0]
                best = min(busy[k : k + n].sum() for k in range(t - n + 1))
                assert busy[s : s + n].sum() == best
                checked += 1
        overlap[name] = np.mean(total)
    assert checked > 10
    assert overlap['p'] < 0.5 * overlap['u']


def test_timeline_segments_frames_exact():
    cfg = make_config('demo', **{**TINY, 'min_frames': 10, 'max_frames': 10})
    rows = dict(
        ids=['a'],
        lengths=[20.0],
        segments=[[(1, 0.0, 5.0), (1, 10.0, 10.0), (3, 19.5, 25)]],
    )
    multi_hot, frames, seg = labels._timeline_segments(
        rows, cfg, np.linspace(0, 1, 6), np.random.default_rng(0)
    )
    # frame t covers [2 t, 2 t + 2) s, centre 2 t + 1
    assert frames.tolist() == [10]
    assert multi_hot.tolist() == [[False, True, False, True, False, False]]
    assert seg['cls'].tolist() == [1, 1, 3]
    assert seg['start'].tolist() == [0, 5, 9]  # centres 1, 3 < 5
    assert seg['length'].tolist() == [2, 1, 1]  # an instant: one frame


def _charades_csv(path, rows):
    header = (
        'id,subject,scene,quality,relevance,verified,script,objects,'
        'descriptions,actions,length\n'
    )
    with open(path, 'w', encoding='utf-8') as f:
        f.write(
            header
            + ''.join(
                f'{vid},,,,,,,,,{acts},{dur}\n' for vid, acts, dur in rows
            )
        )


def test_charades_timelines_preset_on_tiny_csvs(tmp_path, monkeypatch):
    from meid_datatools import charades_lt

    rng = np.random.default_rng(0)
    train, test = [], []
    for i in range(60):  # class c has about 60 / (c + 1) videos
        cls = [c for c in range(4) if rng.random() < 1 / (c + 1)] or [0]
        acts = ';'.join(f'c{c:03d} {c} {c + 4}' for c in cls)
        (train if i < 40 else test).append((f'V{i:02d}', acts, 12.0))
    _charades_csv(tmp_path / 'Charades_v1_train.csv', train)
    _charades_csv(tmp_path / 'Charades_v1_test.csv', test)
    monkeypatch.setitem(
        charades_lt.PRESETS,
        'tiny',
        dict(
            max_count=30,
            min_count=2,
            profile='natural',
            exponent=1.0,
            num_train=30,
            size_weight=10.0,
            num_val=8,
            num_test=10,
        ),
    )
    out = tmp_path / 'out'
    meta = generate_synthetic_lt(
        str(out),
        preset='charades',
        num_classes=4,
        feat_dim=8,
        family_size=2,
        min_frames=12,
        max_frames=12,
        head_thr=10,
        tail_thr=3,
        charades_profile='tiny',
        charades_scale=1.0,
        charades_dir=str(tmp_path),
    )
    ids, labels = parse_label_list(str(out / 'train.lst'), 4)
    src = {vid: acts for vid, acts, _ in train}
    for vid, lab in zip(ids, labels):  # real ids and real labels
        assert lab == sorted({int(a[1:4]) for a in src[vid].split(';')})
    assert meta['splits']['validate']['num_videos'] == 8
    assert meta['splits']['test']['num_videos'] == 10
    val_ids, _ = parse_label_list(str(out / 'validate.lst'), 4)
    test_ids, _ = parse_label_list(str(out / 'test.lst'), 4)
    assert not set(val_ids) & set(test_ids)
    assert set(val_ids) | set(test_ids) <= {v for v, _, _ in test}
    # action c spans [c, c + 4) s of 12 s on 12 frames: frames c .. c + 3
    for r in _segments(out):
        c = int(r['class'])
        assert (int(r['start']), int(r['length'])) == (c, 4)
    with pytest.raises(ValueError, match='needs charades_dir'):
        generate_synthetic_lt(str(tmp_path / 'x'), preset='charades')


def test_real_charades_timelines(shared_data):
    from meid_datatools.charades_lt import (
        read_charades_timelines,
    )

    ids, lengths, segs = read_charades_timelines(
        osp.join(shared_data, 'charades', 'Charades_v1_test.csv'), 157
    )
    assert len(ids) == len(lengths) == len(segs) > 1000
    assert all(
        0 <= t0 <= t1 <= dur
        for dur, ss in zip(lengths, segs)
        for _, t0, t1 in ss
    )
