import importlib.util
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest

from meid_datatools.packing import (
    PackedStoreWriter,
    list_source_ids,
    pack_features,
    verify_packed_store,
)
from meid_mmaction.datasets.feature_store import (
    NpyFeatureStore,
    build_feature_store,
)
from meid_mmaction.datasets.packed_store import (
    INDEX_FILE,
    LOG_FILE,
    STATE_FILE,
    PackedFeatureStore,
)

D = 6


def _load_cli():
    path = osp.join(
        osp.dirname(__file__), '..', '..', 'tools', 'data', 'pack_features.py'
    )
    spec = importlib.util.spec_from_file_location('pack_features_cli', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def src(tmp_path):
    """10 videos of 3..9 frames, ``[T, 6]`` float32, as per-file .npy."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'src'
    root.mkdir()
    arrays = {}
    for i in range(10):
        a = rng.standard_normal((int(rng.integers(3, 10)), D))
        arrays[f'vid{i:02d}'] = a.astype(np.float32)
        np.save(root / f'vid{i:02d}.npy', arrays[f'vid{i:02d}'])
    return str(root), arrays


def test_roundtrip_float32_exact_and_lazy(src, tmp_path):
    src_dir, arrays = src
    out = str(tmp_path / 'packed')
    summary = pack_features(src_dir, out)
    assert summary == dict(written=10, skipped=0, videos=10, shards=1)
    store = build_feature_store(out)
    assert isinstance(store, PackedFeatureStore)
    assert len(store) == 10 and store.video_ids == sorted(arrays)
    for vid, ref in arrays.items():
        got = store.open(vid)
        assert isinstance(got, np.memmap)  # a view of the shard map
        assert got.dtype == np.float32 and got.shape == ref.shape
        np.testing.assert_array_equal(got, ref)
    # same values as the per-file store
    npy = build_feature_store(src_dir)
    assert isinstance(npy, NpyFeatureStore)
    np.testing.assert_array_equal(npy.open('vid03'), store.open('vid03'))


def test_float16_values_are_the_cast(src, tmp_path):
    src_dir, arrays = src
    out = str(tmp_path / 'p16')
    pack_features(src_dir, out, dtype='float16')
    store = PackedFeatureStore(out)
    for vid, ref in arrays.items():
        got = store.open(vid)
        assert got.dtype == np.float16
        np.testing.assert_array_equal(got, ref.astype(np.float16))
    # a plain .npy shard, readable without this package
    shard = np.load(osp.join(out, 'shard_00000.npy'))
    assert shard.shape == (sum(len(a) for a in arrays.values()), D)


def test_shard_size_limit(src, tmp_path):
    src_dir, arrays = src
    out = str(tmp_path / 'p')
    row_bytes = D * 4
    pack_features(src_dir, out, shard_bytes=12 * row_bytes)
    index = json.load(open(osp.join(out, INDEX_FILE)))
    lengths = [len(arrays[v]) for v in sorted(arrays)]
    # greedy fill, a video never split, 12 rows max per shard
    expected, cur = [], 0
    for n in lengths:
        if cur and cur + n > 12:
            expected.append(cur)
            cur = 0
        cur += n
    expected.append(cur)
    assert [s['rows'] for s in index['shards']] == expected
    for s in index['shards']:
        path = osp.join(out, s['file'])
        assert np.load(path, mmap_mode='r').shape == (s['rows'], D)
        assert osp.getsize(path) == 128 + s['rows'] * row_bytes
    store = PackedFeatureStore(out)
    for vid, ref in arrays.items():
        np.testing.assert_array_equal(store.open(vid), ref)
    # a video larger than the limit gets a shard of its own
    out2 = str(tmp_path / 'tiny')
    pack_features(src_dir, out2, shard_bytes=1)
    assert [
        s['rows']
        for s in json.load(open(osp.join(out2, INDEX_FILE)))['shards']
    ] == lengths


def test_unknown_id_and_location(src, tmp_path):
    src_dir, _ = src
    out = str(tmp_path / 'p')
    pack_features(src_dir, out, video_ids=['vid01', 'vid02'])
    store = PackedFeatureStore(out)
    with pytest.raises(
        FileNotFoundError,
        match=r"video 'vid05' is not in the packed feature "
        r'store .*p \(.*packed_index.json lists 2 videos\)',
    ):
        store.open('vid05')
    n1 = len(np.load(osp.join(src_dir, 'vid01.npy')))
    n2 = len(np.load(osp.join(src_dir, 'vid02.npy')))
    assert store.location('vid02') == (
        f'{osp.join(out, "shard_00000.npy")}[{n1}:{n1 + n2}] (video vid02)'
    )


def test_ann_file_selects_ids(src, tmp_path):
    src_dir, arrays = src
    ann1, ann2 = tmp_path / 'a.lst', tmp_path / 'b.lst'
    ann1.write_text('vid04 1\nvid01 0,2\n')
    ann2.write_text('vid01 0\nvid07 3\n')
    ids = list_source_ids(src_dir, [str(ann1), str(ann2)])
    assert ids == ['vid04', 'vid01', 'vid07']
    out = str(tmp_path / 'p')
    pack_features(src_dir, out, ids)
    assert PackedFeatureStore(out).video_ids == ids
    ann2.write_text('vid01 0\nmissing 3\n')
    with pytest.raises(
        FileNotFoundError, match=r"video 'missing' not found: .*missing\.npy"
    ):
        pack_features(
            src_dir, str(tmp_path / 'q'), list_source_ids(src_dir, [str(ann2)])
        )
    with pytest.raises(
        FileNotFoundError, match=r'annotation file not found: .*nope\.lst'
    ):
        list_source_ids(src_dir, [str(tmp_path / 'nope.lst')])


def test_resume_after_kill(src, tmp_path):
    src_dir, arrays = src
    out = str(tmp_path / 'p')
    ids = sorted(arrays)
    w = PackedStoreWriter(out, dtype='float16', commit_every=1000)
    for vid in ids[:4]:
        w.append(vid, arrays[vid])
    w.commit()
    # two more written but never committed, then the process "dies"
    for vid in ids[4:6]:
        w.append(vid, arrays[vid] + 100)
    w._file.flush()
    del w
    with open(osp.join(out, LOG_FILE), 'a') as f:
        f.write('{"v":"vid0')  # cut line of a crash during logging
    assert not osp.isfile(osp.join(out, INDEX_FILE))
    assert osp.isfile(osp.join(out, STATE_FILE))
    summary = pack_features(
        src_dir, out, dtype='float16', shard_bytes=20 * D * 2
    )  # new limit: new shards
    assert summary['written'] == 6 and summary['skipped'] == 4
    assert sorted(os.listdir(out)) == sorted(
        [INDEX_FILE] + [f'shard_{i:05d}.npy' for i in range(summary['shards'])]
    )
    store = PackedFeatureStore(out)
    for vid, ref in arrays.items():
        np.testing.assert_array_equal(store.open(vid), ref.astype(np.float16))
    assert verify_packed_store(out, src_dir) == []
    # rerun of a finished store: nothing to do
    assert pack_features(src_dir, out, dtype='float16')['written'] == 0


def test_resume_appends_to_finished_store(src, tmp_path):
    src_dir, arrays = src
    out = str(tmp_path / 'p')
    pack_features(src_dir, out, ['vid00', 'vid01'])
    summary = pack_features(src_dir, out)
    assert summary == dict(written=8, skipped=2, videos=10, shards=2)
    store = PackedFeatureStore(out)
    for vid, ref in arrays.items():
        np.testing.assert_array_equal(store.open(vid), ref)
    assert verify_packed_store(out, src_dir) == []


def test_resume_refuses_other_dtype_and_stray_dir(src, tmp_path):
    src_dir, _ = src
    out = str(tmp_path / 'p')
    pack_features(src_dir, out, ['vid00'])
    with pytest.raises(
        ValueError,
        match=r'packed_index.json: the existing store has '
        r"dtype 'float32', this run asks for 'float16'",
    ):
        pack_features(src_dir, out, dtype='float16')
    stray = tmp_path / 'stray'
    stray.mkdir()
    (stray / 'shard_00000.npy').write_bytes(b'x')
    with pytest.raises(
        ValueError,
        match=r"stray: holds \['shard_00000.npy'"
        r'\] but neither packed_index.json',
    ):
        PackedStoreWriter(str(stray))
    with pytest.raises(
        ValueError,
        match=r"dtype must be one of \('float32',"
        r" 'float16'\), got 'int8'",
    ):
        PackedStoreWriter(str(tmp_path / 'x'), dtype='int8')


@pytest.mark.parametrize(
    'bad, match',
    [
        (
            np.zeros((2, 3, D), np.float32),
            r'bad\.npy: features must be \[T, D\] with T, D > 0, got shape '
            r'\(2, 3, 6\)',
        ),
        (
            np.zeros((0, D), np.float32),
            r'bad\.npy: features must be \[T, D\] with T, D > 0, got shape '
            r'\(0, 6\)',
        ),
        (
            np.zeros((4, D + 1), np.float32),
            r'bad\.npy: feature dim 7 differs from 6 of .*\.npy',
        ),
        (
            np.array([['a'] * D]),
            r'bad\.npy: features must be real numbers, got dtype <U1',
        ),
    ],
)
def test_header_validation_names_file(src, tmp_path, bad, match):
    src_dir, _ = src
    np.save(osp.join(src_dir, 'zz_bad.npy'), bad)
    out = str(tmp_path / 'p')
    with pytest.raises(ValueError, match=match):
        pack_features(src_dir, out)
    assert not osp.exists(out)  # refused before writing anything


def test_value_validation_names_file(src, tmp_path):
    src_dir, arrays = src
    bad = arrays['vid05'].copy()
    bad[2, 4] = np.nan
    np.save(osp.join(src_dir, 'vid05.npy'), bad)
    with pytest.raises(
        ValueError,
        match=r'vid05\.npy: 1 non-finite values \(first at '
        r'row 2, column 4: nan\)',
    ):
        pack_features(src_dir, str(tmp_path / 'p'))
    big = arrays['vid05'].copy()
    big[0, 0] = 1e6
    np.save(osp.join(src_dir, 'vid05.npy'), big)
    with pytest.raises(
        ValueError,
        match=r'vid05\.npy: values exceed the float16 range '
        r'\(max 65504\.0\)',
    ):
        pack_features(src_dir, str(tmp_path / 'p16'), dtype='float16')
    assert not osp.exists(osp.join(str(tmp_path / 'p16'), 'packed_index.json'))
    # fixing the file and rerunning resumes the interrupted run (the 9 good
    # videos were written)
    np.save(osp.join(src_dir, 'vid05.npy'), arrays['vid05'])
    summary = pack_features(src_dir, str(tmp_path / 'p16'), dtype='float16')
    assert summary['skipped'] == 9 and summary['written'] == 1


def test_every_bad_file_is_reported(src, tmp_path, capsys):
    src_dir, arrays = src
    np.save(osp.join(src_dir, 'vid02.npy'), np.zeros((0, D), np.float32))
    np.save(osp.join(src_dir, 'vid07.npy'), np.zeros((3, D + 1), np.float32))
    ids = [f'vid{i:02d}' for i in range(10)] + ['missing']
    with pytest.raises(ValueError) as info:
        pack_features(src_dir, str(tmp_path / 'p'), ids)
    text = str(info.value)
    assert text.startswith(
        '3 bad source feature file(s); nothing was written:'
    )
    assert 'vid02.npy: features must be [T, D]' in text
    assert 'vid07.npy: feature dim 7 differs from 6' in text
    assert "feature file of video 'missing' not found" in text
    assert not osp.exists(str(tmp_path / 'p'))
    # values: both bad files named, the good ones kept for the rerun
    for i in (2, 7):
        bad = arrays[f'vid0{i}'].copy()
        bad[0, 0] = np.inf
        np.save(osp.join(src_dir, f'vid0{i}.npy'), bad)
    with pytest.raises(ValueError) as info:
        pack_features(src_dir, str(tmp_path / 'p'))
    text = str(info.value)
    assert text.startswith(
        '2 bad source feature file(s); the other videos were packed'
    )
    assert 'vid02.npy: 1 non-finite values' in text
    assert 'vid07.npy: 1 non-finite values' in text
    # the tool prints the same list and exits with 1
    assert (
        _load_cli().main([src_dir, str(tmp_path / 'p'), '--no-progress']) == 1
    )
    err = capsys.readouterr().err
    assert err.startswith('error: 2 bad source feature file(s)')
    assert 'vid02.npy' in err and 'vid07.npy' in err


def test_writer_rejects_duplicate_and_bad_id(tmp_path):
    w = PackedStoreWriter(str(tmp_path / 'p'))
    w.append('a', np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"video 'a' is already in"):
        w.append('a', np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=r'video id must be a non-empty '
        r"string without whitespace, got 'a b'",
    ):
        w.append('a b', np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=r"video 'c': feature dim 4 differs from the "
        r'store dim 3',
    ):
        w.append('c', np.ones((2, 4)))
    w.close()
    np.testing.assert_array_equal(
        PackedFeatureStore(str(tmp_path / 'p')).open('a'), np.ones((2, 3))
    )
    with pytest.raises(ValueError, match=r'no video was written'):
        PackedStoreWriter(str(tmp_path / 'empty')).close()


def test_verify_detects_corruption(src, tmp_path):
    src_dir, arrays = src
    out = str(tmp_path / 'p')
    pack_features(src_dir, out, shard_bytes=30 * D * 4)
    assert verify_packed_store(out, src_dir) == []
    shard = osp.join(out, 'shard_00001.npy')
    with open(shard, 'r+b') as f:
        f.seek(128 + 5)
        byte = f.read(1)
        f.seek(128 + 5)
        f.write(bytes([byte[0] ^ 0xFF]))
    problems = verify_packed_store(out)
    assert len(problems) == 1
    assert problems[0].startswith(f'{shard}: sha256 ')
    assert 'differs from the index' in problems[0]
    with_src = verify_packed_store(out, src_dir, check_hash=False)
    assert len(with_src) == 1 and 'values differ from' in with_src[0]
    os.remove(osp.join(out, 'shard_00000.npy'))
    assert verify_packed_store(out, check_hash=False) == [
        f'{osp.join(out, "shard_00000.npy")}: shard file missing'
    ]


def test_bad_index_and_shard_messages(src, tmp_path):
    src_dir, _ = src
    out = str(tmp_path / 'p')
    pack_features(src_dir, out)
    index_path = osp.join(out, INDEX_FILE)
    index = json.load(open(index_path))
    index['videos']['vid00'] = [0, 0, 10**6]
    json.dump(index, open(index_path, 'w'))
    with pytest.raises(
        ValueError,
        match=r'packed_index.json: bad location '
        r"\[0, 0, 1000000\] of video 'vid00'",
    ):
        PackedFeatureStore(out)
    index['videos']['vid00'] = [0, 0, 1]
    index['shards'][0]['rows'] += 1
    json.dump(index, open(index_path, 'w'))
    store = PackedFeatureStore(out)
    with pytest.raises(
        ValueError,
        match=r'shard_00000\.npy: shard has shape'
        r' \(\d+, 6\) dtype float32, the index expects',
    ):
        store.open('vid00')
    open(index_path, 'w').write('{oops')
    with pytest.raises(
        ValueError,
        match=r'packed_index.json: not valid '
        'JSON',
    ):
        PackedFeatureStore(out)


def test_maps_are_per_process(src, tmp_path):
    src_dir, arrays = src
    out = str(tmp_path / 'p')
    pack_features(src_dir, out)
    store = PackedFeatureStore(out)
    store.open('vid00')
    assert list(store._maps) == [0]
    clone = pickle.loads(pickle.dumps(store))
    assert clone._maps == {}  # maps are not pickled to workers
    np.testing.assert_array_equal(clone.open('vid09'), arrays['vid09'])
    first = store._maps[0]
    store._pid = -1  # as seen from a forked child: reopen
    store.open('vid00')
    assert store._maps[0] is not first


def test_cli_pack_and_verify(src, tmp_path, capsys):
    src_dir, arrays = src
    cli = _load_cli()
    assert cli.parse_size('4G') == 4 << 30
    assert cli.parse_size('1.5k') == 1536
    out = str(tmp_path / 'p')
    rc = cli.main(
        [
            src_dir,
            out,
            '--dtype',
            'float16',
            '--shard-size',
            '200',
            '--verify',
            '--compare-source',
            '--no-progress',
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert 'packed 10 videos (0 already there)' in text
    assert f'verification of {out}: OK' in text
    with open(osp.join(out, 'shard_00000.npy'), 'ab') as f:
        f.write(b'junk')
    rc = cli.main([src_dir, out, '--verify-only', '--no-progress'])
    assert rc == 1
    err = capsys.readouterr().err
    assert 'shard_00000.npy: ' in err and 'problems' in err
    with pytest.raises(SystemExit):
        cli.parse_args([src_dir, out, '--shard-size', '4X'])
    assert 'invalid size' in capsys.readouterr().err


def test_dataset_reads_same_samples(src, tmp_path):
    from mmengine.registry import init_default_scope

    from meid_mmaction.datasets import MultiLabelFeatureDataset

    init_default_scope('mmaction')
    src_dir, arrays = src
    ann = tmp_path / 'train.lst'
    ann.write_text(''.join(f'{v} {i % 3}\n' for i, v in enumerate(arrays)))
    pack_features(src_dir, str(tmp_path / 'p32'))
    pack_features(src_dir, str(tmp_path / 'p16'), dtype='float16')
    pipeline = [
        dict(type='OpenFeatures'),
        dict(type='SampleFeatureFrames', clip_len=4, test_mode=True),
        dict(type='LoadFeatureFrames'),
        dict(type='PackFeatureInputs'),
    ]
    inputs = {}
    for name in ('src', 'p32', 'p16'):
        ds = MultiLabelFeatureDataset(
            ann_file=str(ann),
            num_classes=3,
            head_thr=3,
            tail_thr=1,
            pipeline=pipeline,
            data_prefix=dict(feat=str(tmp_path / name)),
            feat_dim=D,
        )
        inputs[name] = [ds[i]['inputs'] for i in range(len(ds))]
    for a, b, c in zip(inputs['src'], inputs['p32'], inputs['p16']):
        assert a.shape == (1, 4, D) and b.dtype == c.dtype == a.dtype
        assert (a == b).all()
        assert (a.half().float() == c).all()
