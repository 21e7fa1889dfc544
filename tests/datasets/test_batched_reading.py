"""Batched reads and the memory-resident feature bank equal the per-sample
pipeline: same videos, same frames, same values."""

import copy
import traceback

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from meid_datatools.packing import pack_features
from meid_mmaction.datasets import MultiLabelFeatureDataset
from meid_mmaction.datasets.feature_bank import FeatureBank
from meid_mmaction.datasets.packed_store import PackedFeatureStore
from meid_mmaction.datasets.samplers import encode_drawn_index
from meid_mmaction.datasets.transforms import SampleFeatureFrames
from meid_mmaction.datasets.transforms.sampling import (
    seeded_frame_indices,
)
from meid_mmaction.models.data_preprocessors import FeatureDataPreprocessor
from meid_mmaction.utils import get_gt_label

C, D, NUM = 5, 6, 11
_M = 0xFFFFFFFF


def ref_mix32(x):
    """lowbias32, written out on Python ints as documented."""
    x ^= x >> 16
    x = x * 0x7FEB352D % 2**32
    x ^= x >> 15
    x = x * 0x846CA68B % 2**32
    return x ^ (x >> 16)


def ref_frames(seed, epoch, idx, total, clip_len, num_clips):
    key = ref_mix32((seed % 2**32) ^ 0x3C6EF372)
    for word in (seed >> 32, epoch, idx):
        key = ref_mix32(key ^ word)
    out = []
    for k in range(num_clips):
        clip = [
            ref_mix32(ref_mix32(key ^ (k * clip_len + i)) ^ 0x9E3779B9)
            * total
            // 2**32
            for i in range(clip_len)
        ]
        out += sorted(clip)
    return out


def test_seeded_frames_numpy_torch_and_reference_agree():
    seeds = [(0, 0, 0), (7, 3, 12), (2**40 + 5, 99, 2**31 + 1)]
    totals = [1, 13, 2**31 - 1]
    a = seeded_frame_indices(seeds, totals, 9, num_clips=2)
    b = seeded_frame_indices(seeds, totals, 9, num_clips=2, device='cpu')
    assert a.dtype == np.int64 and a.shape == (3, 18)
    np.testing.assert_array_equal(a, b.numpy())
    for row, (s, e, i), t in zip(a, seeds, totals):
        assert row.tolist() == ref_frames(s, e, i, t, 9, 2)
    assert (a[0] == 0).all()


def test_seeded_frames_uniform_and_fresh_per_epoch():
    seeds = [(5, 0, i) for i in range(3000)]
    f = seeded_frame_indices(seeds, [7] * 3000, 10)
    counts = np.bincount(f.ravel(), minlength=7)
    expected = f.size / 7
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 22.5  # chi-square, 6 dof, p = 0.001
    assert (np.diff(f, axis=1) >= 0).all()
    # another epoch / sample: fresh draws (10**6 frames: ties are rare)
    big = [10**6] * 3000
    f = seeded_frame_indices(seeds, big, 10)
    g = seeded_frame_indices([(5, 1, i) for i in range(3000)], big, 10)
    assert (f != g).mean() > 0.99 and (f[1:] != f[:-1]).mean() > 0.99


def test_seeded_frames_errors():
    with pytest.raises(ValueError, match='non-negative'):
        seeded_frame_indices([(0, -1, 0)], [5], 3)
    with pytest.raises(ValueError, match=r'frame counts must be in'):
        seeded_frame_indices([(0, 0, 0)], [0], 3)
    with pytest.raises(ValueError, match='2 sample seeds for 1'):
        seeded_frame_indices([(0, 0, 0), (0, 0, 1)], [5], 3)


def test_sample_feature_frames_uses_the_seeded_draw():
    t = SampleFeatureFrames(clip_len=4, num_clips=3)
    out = t(dict(total_frames=17, sample_seed=(1, 2, 3)))
    assert out['frame_inds'].tolist() == ref_frames(1, 2, 3, 17, 4, 3)


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmaction')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """11 videos ``[T, D]`` with T = 3..13 (random values, float32) as
    per-file .npy and as packed float32 / float16 stores (2 shards)."""
    root = tmp_path_factory.mktemp('batched')
    rng = np.random.default_rng(0)
    (root / 'npy').mkdir()
    lines = []
    for i in range(NUM):
        x = rng.normal(size=(3 + i, D)).astype(np.float32) * 3
        np.save(root / 'npy' / f'v{i}.npy', x)
        labels = sorted({i % C, (i * 3) % C})
        lines.append(f'v{i} ' + ','.join(map(str, labels)))
    (root / 'train.lst').write_text('\n'.join(lines) + '\n')
    for dtype in ('float32', 'float16'):
        pack_features(
            str(root / 'npy'),
            str(root / f'packed_{dtype}'),
            dtype=dtype,
            shard_bytes=40 * D * 4,
        )
    return root


def pipeline(clip_len=5, num_clips=1, test_mode=False):
    return [
        dict(type='OpenFeatures', feat_dim=D),
        dict(
            type='SampleFeatureFrames',
            clip_len=clip_len,
            num_clips=num_clips,
            test_mode=test_mode,
        ),
        dict(type='LoadFeatureFrames'),
        dict(type='PackFeatureInputs'),
    ]


def build(root, feat='npy', **kwargs):
    kw = dict(pipeline=pipeline())
    kw.update(kwargs)
    return MultiLabelFeatureDataset(
        ann_file=str(root / 'train.lst'),
        num_classes=C,
        head_thr=2,
        tail_thr=1,
        data_prefix=dict(feat=str(root / feat)),
        **kw,
    )


def assert_same(ref, out, exact=True, atol=0.0):
    assert len(ref) == len(out)
    for r, o in zip(ref, out):
        rs, os_ = r['data_samples'], o['data_samples']
        assert rs.video_id == os_.video_id
        np.testing.assert_array_equal(rs.frame_inds, os_.frame_inds)
        assert rs.total_frames == os_.total_frames
        assert (rs.num_clips, rs.clip_len) == (os_.num_clips, os_.clip_len)
        assert torch.equal(get_gt_label(rs), get_gt_label(os_))
        assert r['inputs'].shape == o['inputs'].shape
        # the stored dtype; the data preprocessor casts to float32
        assert o['inputs'].dtype in (torch.float16, torch.float32)
        got = o['inputs'].cpu().float()
        if exact:
            assert torch.equal(r['inputs'], got)
        else:
            torch.testing.assert_close(r['inputs'], got, rtol=0, atol=atol)


IDX = [7, 2, 10, 2, 0, 5]


@pytest.mark.parametrize('feat', ['npy', 'packed_float32', 'packed_float16'])
@pytest.mark.parametrize(
    'mode',
    [
        dict(clip_len=5),
        dict(clip_len=4, num_clips=2),
        dict(clip_len=8, num_clips=2, test_mode=True),
    ],
)
def test_batch_read_equals_per_sample(data, feat, mode):
    per = build(data, feat, pipeline=pipeline(**mode))
    bat = build(data, feat, pipeline=pipeline(**mode), batch_read=True)
    for ds in (per, bat):
        ds.set_frame_seed(3, 1)
    assert_same([per[i] for i in IDX], bat.__getitems__(IDX))
    # the per-sample dataset's __getitems__ is the plain loop
    assert_same([per[i] for i in IDX], per.__getitems__(IDX))


def test_label_masked_indices_keep_their_drawn_class(data):
    enc = encode_drawn_index(np.array([3, 3, 9]), np.array([4, 3, 2]), NUM)
    indices = [int(enc[0]), 5, int(enc[1]), int(enc[2])]
    per = build(data, 'npy')
    bank = build(data, 'npy', feature_bank=dict(dtype='float32'))
    for ds in (per, bank):
        ds.set_frame_seed(0, 0)
    ref = [per[i] for i in indices]
    out = bank.__getitems__(indices)
    assert_same(ref, out)
    drawn = [o['data_samples'].metainfo.get('drawn_class') for o in out]
    assert drawn == [4, None, 3, 2]
    assert drawn == [
        r['data_samples'].metainfo.get('drawn_class') for r in ref
    ]
    with pytest.raises(ValueError, match='decodes to class 5'):
        bank.__getitems__([6 * NUM + 1])
    # video 3 has labels [3, 4]: drawn for class 0 is refused on the host
    bad = int(encode_drawn_index(np.array([3]), np.array([0]), NUM)[0])
    for ds in (per, bank):
        with pytest.raises(
            ValueError,
            match='video 3 drawn for class 0, which is not among its '
            'labels \\[3, 4\\]',
        ):
            ds.__getitems__([bad]) if ds is bank else ds[bad]


@pytest.mark.parametrize('feat', ['npy', 'packed_float16'])
@pytest.mark.parametrize(
    'mode', [dict(clip_len=4, num_clips=2), dict(clip_len=8, test_mode=True)]
)
def test_bank_equals_per_sample_up_to_stored_dtype(data, feat, mode):
    per = build(data, feat, pipeline=pipeline(**mode))
    per.set_frame_seed(0, 4)
    ref = [per[i] for i in IDX]
    for dtype in ('float32', 'float16'):
        bank = build(
            data,
            feat,
            pipeline=pipeline(**mode),
            feature_bank=dict(dtype=dtype),
        )
        bank.set_frame_seed(0, 4)
        out = bank.__getitems__(IDX)
        if dtype == 'float16' and feat == 'npy':
            # per-file float32 values rounded to the bank's float16
            for r in ref:
                r['inputs'] = r['inputs'].half().float()
        assert_same(ref, out)


def test_packed_read_frames_equals_per_video_reads(data):
    store = PackedFeatureStore(str(data / 'packed_float16'))
    assert len({store._locate(f'v{i}')[0] for i in range(NUM)}) > 1
    vids = ['v10', 'v0', 'v4', 'v10']
    frames = np.array([[12, 0, 5], [0, 2, 2], [6, 1, 1], [3, 3, 12]])
    out = store.read_frames(vids, frames)
    assert out.dtype == np.float16 and out.shape == (4, 3, D)
    for o, v, f in zip(out, vids, frames):
        np.testing.assert_array_equal(o, store.open(v)[f])
    with pytest.raises(
        IndexError,
        match=r'v0\) *: frames \[3\] outside '
        r'\[0, 3\)',
    ):
        store.read_frames(['v1', 'v0'], np.array([[0], [3]]))


def test_int8_bank_reports_its_reconstruction_error(data):
    per = build(data, 'npy')
    bank_ds = build(data, 'npy', feature_bank=dict(dtype='int8'))
    bank = bank_ds.load_feature_bank()
    assert bank.data.dtype == torch.int8 and bank.scale.shape == (D,)
    # independent: quantise the whole split with numpy
    x = np.concatenate(
        [np.load(data / 'npy' / f'v{i}.npy') for i in range(NUM)]
    )
    scale = np.abs(x).max(0) / 127
    err = np.clip(np.rint(x / scale), -127, 127) * scale - x
    assert bank.stats['max_abs_error'] == pytest.approx(
        np.abs(err).max(), rel=1e-5
    )
    assert bank.stats['rmse'] == pytest.approx(
        np.sqrt((err**2).mean()), rel=1e-5
    )
    assert bank.stats['relative_rmse'] == pytest.approx(
        np.linalg.norm(err) / np.linalg.norm(x), rel=1e-5
    )
    assert bank.stats['max_abs_error'] <= scale.max() / 2 * 1.0001
    per.set_frame_seed(1, 1)
    bank_ds.set_frame_seed(1, 1)
    assert_same(
        [per[i] for i in IDX],
        bank_ds.__getitems__(IDX),
        exact=False,
        atol=bank.stats['max_abs_error'] * 1.0001,
    )


def test_deep_copies_share_one_bank(data):
    ds = build(data, 'npy', feature_bank=dict())
    twin = copy.deepcopy(ds)  # as mmengine's build_dataloader does
    bank = twin.load_feature_bank()
    assert ds.load_feature_bank() is bank
    ds.set_frame_seed(0, 0)
    twin.set_frame_seed(0, 0)
    assert_same(ds.__getitems__(IDX), twin.__getitems__(IDX))


def test_bank_refuses_when_split_does_not_fit(data):
    ds = build(
        data, 'npy', feature_bank=dict(dtype='float16', memory_limit=1000)
    )
    rows = sum(3 + i for i in range(NUM))
    needed = FeatureBank.bytes_needed(rows, D, 'float16', NUM)
    assert needed == rows * D * 2 + 2 * NUM * 8
    with pytest.raises(
        ValueError, match=rf'needs {needed} bytes .* only 1000 bytes'
    ):
        ds.__getitems__([0])


@pytest.mark.parametrize(
    'bad, match',
    [
        (dict(dtype='bf16'), 'dtype must be one of'),
        (dict(device='tpu'), "device must be 'cpu' or 'cuda"),
        (dict(devcie='cpu'), r"unknown keys \['devcie'\]"),
        ('cpu', 'must be None or a dict'),
    ],
)
def test_bank_config_errors(data, bad, match):
    with pytest.raises(ValueError, match=match):
        build(data, 'npy', feature_bank=bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA present')
def test_cuda_bank_without_cuda_is_refused(data):
    ds = build(data, 'npy', feature_bank=dict(device='cuda'))
    with pytest.raises(ValueError, match='CUDA is not available'):
        ds.load_feature_bank()


def test_unsupported_pipeline_is_refused(data):
    pipe = pipeline()[:3] + [dict(type='PackActionInputs')]
    with pytest.raises(ValueError, match='support exactly the pipeline'):
        build(data, 'npy', pipeline=pipe, batch_read=True)


def test_non_finite_values_name_the_video(tmp_path):
    (tmp_path / 'npy').mkdir()
    for i in range(2):
        x = np.ones((4, D), np.float32)
        if i == 1:
            x[:, 2] = np.nan
        np.save(tmp_path / 'npy' / f'v{i}.npy', x)
    (tmp_path / 'train.lst').write_text('v0 0\nv1 1\n')
    ds = build(tmp_path, 'npy', batch_read=True)
    with pytest.raises(ValueError, match=r"v1\.npy: non-finite .* 'v1'"):
        ds.__getitems__([0, 1])
    bank = build(tmp_path, 'npy', feature_bank=dict())
    with pytest.raises(
        ValueError,
        match=r"v1\.npy: non-finite .*'v1' at "
        r'frames \[0, 1, 2, 3\]',
    ):
        bank.load_feature_bank()
    (tmp_path / 'npy' / 'v1.npy').unlink()
    np.save(tmp_path / 'npy' / 'v1.npy', np.full((4, D), 7e4, np.float32))
    half = build(tmp_path, 'npy', feature_bank=dict(dtype='float16'))
    with pytest.raises(ValueError, match='exceed the float16 range'):
        half.load_feature_bank()


def _loader(ds, workers=0):
    sampler = DefaultSampler(ds, shuffle=True, seed=5)
    return DataLoader(
        ds,
        batch_size=4,
        sampler=sampler,
        num_workers=workers,
        collate_fn=pseudo_collate,
        timeout=60 if workers else 0,
    )


def _model_inputs(loader):
    pre = FeatureDataPreprocessor()
    out = []
    for batch in loader:
        data = pre(batch, training=True)
        out.append(
            (
                data['inputs'],
                [d.video_id for d in data['data_samples']],
                torch.stack([get_gt_label(d) for d in data['data_samples']]),
            )
        )
    return out


def test_dataloader_and_preprocessor_same_batches(data):
    """Through DataLoader + ActionDataPreprocessor: per-sample with 2
    workers, batched with 2 workers, bank without workers."""
    per = build(data, 'packed_float16')
    bat = build(data, 'packed_float16', batch_read=True)
    bank = build(data, 'packed_float16', feature_bank=dict())
    for ds in (per, bat, bank):
        ds.set_frame_seed(11, 2)
    ref = _model_inputs(_loader(per, workers=2))
    for got in (
        _model_inputs(_loader(bat, workers=2)),
        _model_inputs(_loader(bank)),
    ):
        assert len(got) == len(ref) == 3
        for (xr, vr, yr), (xg, vg, yg) in zip(ref, got):
            assert vr == vg
            assert xr.shape == xg.shape == (len(vr), 1, 5, D)
            assert torch.equal(xr, xg) and torch.equal(yr, yg)


def test_bank_in_a_worker_is_refused(data):
    ds = build(data, 'npy', feature_bank=dict())
    batches = iter(_loader(ds, workers=1))
    with pytest.raises(ValueError, match='num_workers=0') as info:
        next(batches)
    # the re-raised error's frames hold the iterator in a reference cycle:
    # freed by a later gc pass, its queues may be finalised before it stops
    # its worker (a 5 s join in an unrelated test); stop it now
    traceback.clear_frames(info.tb)
    del batches


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', ['float16', 'int8'])
def test_cuda_bank_equals_cpu_bank(data, dtype):
    if not torch.cuda.is_available():
        pytest.skip('needs CUDA')
    cpu = build(data, 'npy', feature_bank=dict(dtype=dtype))
    gpu = build(data, 'npy', feature_bank=dict(dtype=dtype, device='cuda'))
    for ds in (cpu, gpu):
        ds.set_frame_seed(2, 9)
    out = gpu.__getitems__(IDX)
    assert out[0]['inputs'].is_cuda
    assert_same(cpu.__getitems__(IDX), out)
    assert gpu.load_feature_bank().stats == cpu.load_feature_bank().stats


def _metainfo(sample):
    meta = dict(sample.metainfo)
    if 'frame_inds' in meta:
        meta['frame_inds'] = np.asarray(meta['frame_inds']).tolist()
    return meta


@pytest.mark.parametrize('feat', ['npy', 'packed_float16'])
def test_feature_batch_samples_equal_per_sample_metainfo(data, feat):
    """Every metainfo key, in order, and the label of each lazily made
    sample equal the per-sample pipeline's (incl. sample_seed and
    drawn_class)."""
    keys = ('video_id', 'frame_inds', 'total_frames', 'num_clips')
    keys += ('clip_len', 'sample_seed')
    pipe = pipeline()
    pipe[-1] = dict(type='PackFeatureInputs', meta_keys=keys)
    per = build(data, feat, pipeline=pipe)
    fast = build(data, feat, pipeline=pipe, feature_bank=dict())
    enc = encode_drawn_index(np.array([3, 9]), np.array([4, 2]), NUM)
    indices = [int(enc[0]), 5, 0, int(enc[1])]
    for ds in (per, fast):
        ds.set_frame_seed(3, 1)
    ref = [per[i] for i in indices]
    batch = fast.__getitems__(indices)
    assert batch.data_samples.drawn.tolist() == [4, -1, -1, 2]
    for r, o in zip(ref, batch):
        rs, os_ = r['data_samples'], o['data_samples']
        assert list(rs.metainfo) == list(os_.metainfo)
        assert _metainfo(rs) == _metainfo(os_)
        assert torch.equal(get_gt_label(rs), get_gt_label(os_))


def test_feature_collate_step_equals_per_sample_step(data):
    """A label-masked training step from a bank batch through
    feature_collate (no per-video sample made anywhere) gives bit for bit
    the per-sample path's preprocessed inputs, targets, mask and loss."""
    from mmaction.registry import MODELS

    from meid_mmaction.datasets import FeatureBatchSamples, feature_collate

    per = build(data, 'npy')
    fast = build(data, 'npy', feature_bank=dict(dtype='float32'))
    enc = encode_drawn_index(np.array([3, 9, 1]), np.array([3, 4, 1]), NUM)
    indices = [int(enc[0]), 5, int(enc[1]), 8, int(enc[2])]
    for ds in (per, fast):
        ds.set_frame_seed(0, 2)
    pre = FeatureDataPreprocessor()
    ref = pre(pseudo_collate([per[i] for i in indices]), training=True)
    made = []
    original = FeatureBatchSamples._make
    FeatureBatchSamples._make = lambda self, b: (
        made.append(b) or original(self, b)
    )
    try:
        out = pre(feature_collate(fast.__getitems__(indices)), training=True)
        assert isinstance(out['data_samples'], FeatureBatchSamples)
        assert torch.equal(ref['inputs'], out['inputs'])
        head = MODELS.build(
            dict(
                type='NonlinearClsHead',
                num_classes=C,
                in_channels=D,
                loss_cls=dict(type='MultiLabelFocalLoss'),
            )
        )
        targets = head.targets_from(out['data_samples'], 'cpu')
        assert torch.equal(
            targets, head.targets_from(ref['data_samples'], 'cpu')
        )
        mask = head.loss_mask_from(out['data_samples'], targets)
        ref_mask = head.loss_mask_from(ref['data_samples'], targets)
        assert torch.equal(mask, ref_mask) and (mask == 0).any()
        torch.manual_seed(0)
        logits = torch.randn(len(indices), C)
        assert torch.equal(
            head.loss_by_feat(logits, out['data_samples'])['loss_cls'],
            head.loss_by_feat(logits, ref['data_samples'])['loss_cls'],
        )
    finally:
        FeatureBatchSamples._make = original
    assert made == []
    # the samples are still there for whoever asks (evaluation, hooks)
    assert out['data_samples'][0].metainfo['drawn_class'] == 3


@pytest.mark.parametrize('blending', ['MultiLabelMixup', 'FrameStack'])
def test_feature_collate_blending_equals_per_sample(data, blending):
    from mmaction.registry import MODELS

    from meid_mmaction.datasets import feature_collate

    per = build(data, 'npy')
    fast = build(data, 'npy', feature_bank=dict(dtype='float32'))
    for ds in (per, fast):
        ds.set_frame_seed(0, 0)
    runs = []
    for batch_of in (
        lambda: pseudo_collate([per[i] for i in IDX]),
        lambda: feature_collate(fast.__getitems__(IDX)),
    ):
        pre = MODELS.build(
            dict(
                type='FeatureDataPreprocessor',
                blending=dict(type=blending, num_classes=C, seed=3),
            )
        )
        if blending == 'FrameStack':
            pre.blending.set_class_ap([0.9, 0.1, 0.5, 0.0, 0.3])
        out = pre(batch_of(), training=True)
        labels = torch.stack([get_gt_label(d) for d in out['data_samples']])
        runs.append((out['inputs'], labels))
    assert torch.equal(runs[0][0], runs[1][0])
    assert torch.equal(runs[0][1], runs[1][1])
