"""Feature pipeline: open, sample, load, pack."""

import re

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from scipy.stats import binomtest, chisquare

from meid_mmaction.datasets.transforms import (
    LoadFeatureFrames,
    OpenFeatures,
    PackFeatureInputs,
    SampleFeatureFrames,
)
from meid_mmaction.utils import get_gt_label


def _sample(total, **kwargs):
    return SampleFeatureFrames(**kwargs)(dict(total_frames=total))


# ------------------------------------------------------------- sampling
def test_test_mode_every_frame():
    out = _sample(150, clip_len=150, test_mode=True)
    np.testing.assert_array_equal(out['frame_inds'], np.arange(150))
    assert out['frame_inds'].dtype == np.int64
    assert out['clip_len'] == 150 and out['num_clips'] == 1


@pytest.mark.parametrize(
    'total, clip_len, num_clips, expected',
    [
        # floor((i + 0.5) * 10 / 4) = floor(1.25, 3.75, 6.25, 8.75)
        (10, 4, 1, [1, 3, 6, 8]),
        # floor((i + 0.5) * 3 / 5) = floor(.3, .9, 1.5, 2.1, 2.7)
        (3, 5, 1, [0, 0, 1, 2, 2]),
        # offsets 0.25 and 0.75: floor((i + .25) * 2.5), floor((i + .75) *
        # 2.5)
        (10, 4, 2, [0, 3, 5, 8, 1, 4, 6, 9]),
        (1, 3, 1, [0, 0, 0]),
        # floor((i + 0.5) * 3) for i < 2 with T = 6
        (6, 2, 1, [1, 4]),
    ],
    ids=['T10-L4', 'T3-L5-repeats', 'T10-L4-2clips', 'T1', 'T6-L2'],
)
def test_test_mode_hand_computed(total, clip_len, num_clips, expected):
    out = _sample(
        total, clip_len=clip_len, num_clips=num_clips, test_mode=True
    )
    assert out['frame_inds'].tolist() == expected
    assert out['num_clips'] == num_clips


@pytest.mark.parametrize(
    'total, clip_len, num_clips', [(150, 60, 1), (5, 16, 1), (40, 8, 3)]
)
def test_train_mode(total, clip_len, num_clips):
    np.random.seed(0)
    out = _sample(total, clip_len=clip_len, num_clips=num_clips)
    inds = out['frame_inds']
    assert inds.dtype == np.int64
    assert inds.shape == (num_clips * clip_len,)
    assert inds.min() >= 0 and inds.max() < total
    for clip in inds.reshape(num_clips, clip_len):
        assert (np.diff(clip) >= 0).all()


@pytest.mark.parametrize('seeded', [False, True])
def test_train_draws_are_uniform_with_replacement(seeded):
    """Each clip holds ``clip_len`` i.i.d. uniform frames, sorted: frame
    counts pass a chi-square test against uniform, and the share of clips
    with 6 distinct frames out of 10 matches i.i.d. draws,
    10 * 9 * 8 * 7 * 6 * 5 / 10**6 = 0.1512 (without replacement it would
    be 1)."""
    sampler = SampleFeatureFrames(clip_len=6)
    np.random.seed(0)
    draws = np.stack(
        [
            sampler(
                dict(
                    total_frames=10, sample_seed=(0, 0, i) if seeded else None
                )
            )['frame_inds']
            for i in range(3000)
        ]
    )
    assert (np.diff(draws, axis=1) >= 0).all()
    counts = np.bincount(draws.ravel(), minlength=10)
    assert chisquare(counts).pvalue > 1e-4
    all_distinct = int(sum(len(set(d)) == 6 for d in draws.tolist()))
    assert binomtest(all_distinct, len(draws), 0.1512).pvalue > 1e-4


def test_train_mode_reproducible_and_random():
    sampler = SampleFeatureFrames(clip_len=20)
    np.random.seed(3)
    a = sampler(dict(total_frames=150))['frame_inds']
    np.random.seed(3)
    b = sampler(dict(total_frames=150))['frame_inds']
    c = sampler(dict(total_frames=150))['frame_inds']
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(clip_len=0), 'clip_len must be a positive int, got 0'),
        (dict(clip_len=2.5), 'clip_len must be a positive int, got 2.5'),
        (
            dict(clip_len=4, num_clips=0),
            'num_clips must be a positive int, got 0',
        ),
        (
            dict(clip_len=4, num_clips='2'),
            "num_clips must be a positive int, got '2'",
        ),
    ],
)
def test_sampling_bad_args(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SampleFeatureFrames(**kwargs)


def test_sampling_no_frames():
    with pytest.raises(ValueError, match="video 'v7' has 0 frames"):
        SampleFeatureFrames(4)(dict(total_frames=0, video_id='v7'))


def test_sampling_repr():
    assert (
        repr(SampleFeatureFrames(8, 2, True))
        == 'SampleFeatureFrames(clip_len=8, num_clips=2, test_mode=True)'
    )


# ------------------------------------------------------------- loading
@pytest.fixture
def feature_dir(tmp_path):
    rng = np.random.default_rng(0)
    np.save(
        tmp_path / 'v32.npy', rng.standard_normal((12, 6), dtype=np.float32)
    )
    np.save(
        tmp_path / 'v16.npy', rng.standard_normal((12, 6)).astype(np.float16)
    )
    return tmp_path


def _open(feature_dir, video_id, **kwargs):
    results = dict(video_id=video_id, feature_root=str(feature_dir))
    results.update(kwargs)
    return OpenFeatures()(results)


def test_open_features_is_lazy(feature_dir):
    out = _open(feature_dir, 'v32', feat_dim=6)
    assert isinstance(out['features'], np.memmap)
    assert out['total_frames'] == 12
    assert out['feature_location'] == str(feature_dir / 'v32.npy')


@pytest.mark.parametrize('video_id', ['v32', 'v16'])
def test_load_reads_exactly_the_rows(feature_dir, video_id):
    array = np.load(feature_dir / f'{video_id}.npy')
    results = _open(feature_dir, video_id)
    results['frame_inds'] = np.array([0, 3, 3, 11, 7], dtype=np.int64)
    out = LoadFeatureFrames()(results)
    feats = out['features']
    assert feats.dtype == np.float32
    assert feats.shape == (5, 6)
    assert not isinstance(feats, np.memmap)
    # float16 -> float32 is exact.
    np.testing.assert_array_equal(
        feats, array[[0, 3, 3, 11, 7]].astype(np.float32)
    )


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_load_rejects_non_finite(tmp_path, bad):
    array = np.zeros((6, 3), dtype=np.float32)
    array[4, 1] = bad
    np.save(tmp_path / 'bad.npy', array)
    results = _open(tmp_path, 'bad')
    results['frame_inds'] = np.array([4, 0, 4])
    path = str(tmp_path / 'bad.npy')
    with pytest.raises(
        ValueError,
        match=re.escape(
            f'{path}: non-finite (NaN/inf) features in '
            "video 'bad' at frames [4] (find every such "
            'problem at once with `python '
            'tools/data/check_dataset.py --config'
        ),
    ):
        LoadFeatureFrames()(results)
    # Frames that are not read are not checked.
    results['frame_inds'] = np.array([0, 5])
    assert LoadFeatureFrames()(results)['features'].shape == (2, 3)


# ------------------------------------------------------------- packing
def test_pack_shapes_and_label():
    feats = np.arange(2 * 3 * 4, dtype=np.float32).reshape(6, 4)
    results = dict(
        features=feats,
        num_clips=2,
        clip_len=3,
        label=[4, 1],
        num_classes=5,
        video_id='v1',
        frame_inds=np.arange(6),
        total_frames=30,
    )
    out = PackFeatureInputs()(results)
    inputs = out['inputs']
    assert inputs.dtype == torch.float32
    assert inputs.shape == (2, 3, 4)
    assert torch.equal(inputs.reshape(6, 4), torch.from_numpy(feats))
    sample = out['data_samples']
    assert torch.equal(
        get_gt_label(sample), torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0])
    )
    assert sample.video_id == 'v1'
    assert sample.num_clips == 2 and sample.clip_len == 3
    assert sample.total_frames == 30


def test_pack_single_clip_default():
    out = PackFeatureInputs(meta_keys=())(
        dict(features=np.ones((5, 2), np.float32), label=[0], num_classes=3)
    )
    assert out['inputs'].shape == (1, 5, 2)
    assert out['data_samples'].metainfo == {}
    assert get_gt_label(out['data_samples']).tolist() == [1.0, 0.0, 0.0]


def test_pack_without_label_has_no_ground_truth():
    # an unlabelled video to predict (tools/predict.py)
    out = PackFeatureInputs()(
        dict(features=np.ones((4, 2), np.float32), num_classes=3, video_id='n')
    )
    sample = out['data_samples']
    assert out['inputs'].shape == (1, 4, 2)
    assert sample.video_id == 'n'
    with pytest.raises(KeyError, match='no ground-truth label'):
        get_gt_label(sample)


@pytest.mark.parametrize(
    'label, message',
    [
        ([], "video 'v9' has an empty label"),
        ([1, 3], "label [1, 3] of video 'v9' is outside [0, 3)"),
        ([-1], "label [-1] of video 'v9' is outside [0, 3)"),
    ],
)
def test_pack_bad_label(label, message):
    results = dict(
        features=np.ones((2, 2), np.float32),
        label=label,
        num_classes=3,
        video_id='v9',
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        PackFeatureInputs()(results)


def test_full_pipeline_through_registry(feature_dir):
    from mmengine.dataset import Compose

    init_default_scope('mmaction')
    pipeline = Compose(
        [
            dict(type='OpenFeatures'),
            dict(type='SampleFeatureFrames', clip_len=4, test_mode=True),
            dict(type='LoadFeatureFrames'),
            dict(type='PackFeatureInputs'),
        ]
    )
    out = pipeline(
        dict(
            video_id='v16',
            feature_root=str(feature_dir),
            feat_dim=6,
            label=[2],
            num_classes=4,
        )
    )
    array = np.load(feature_dir / 'v16.npy').astype(np.float32)
    # T = 12, clip_len = 4: floor((i + 0.5) * 3) = 1, 4, 7, 10
    assert torch.equal(
        out['inputs'][0], torch.from_numpy(array[[1, 4, 7, 10]])
    )
    assert get_gt_label(out['data_samples']).tolist() == [0.0, 0.0, 1.0, 0.0]


def test_train_mode_sample_seed():
    # A sample seed (seed, epoch, index) fixes the draw, whatever the global
    # numpy state.
    sampler = SampleFeatureFrames(clip_len=6, num_clips=2)
    np.random.seed(0)
    a = sampler(dict(total_frames=9, sample_seed=(1, 2, 3)))['frame_inds']
    np.random.seed(5)
    b = sampler(dict(total_frames=9, sample_seed=(1, 2, 3)))['frame_inds']
    np.testing.assert_array_equal(a, b)
    assert a.shape == (12,) and a.min() >= 0 and a.max() < 9
    c = sampler(dict(total_frames=9, sample_seed=(1, 3, 3)))['frame_inds']
    assert not np.array_equal(a, c)
