"""MultiLabelFeatureDataset and its VideoLT / CharadesLT presets."""

import os
import re

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.registry import init_default_scope

from meid_mmaction.datasets import (
    CharadesLTDataset,
    MultiLabelFeatureDataset,
    VideoLTDataset,
)
from meid_mmaction.utils import get_gt_label

NUM_CLASSES = 4
FEAT_DIM = 3
TRAIN_LIST = 'v0 0\nv1 0,1\nv2 0,2\nv3 1,0,1\nv4 3\n'
COUNTS = 'walk 0 9\nrun fast 1 4\njump 2 2\nsit 3 1\n'

PIPELINE = [
    dict(type='OpenFeatures'),
    dict(type='SampleFeatureFrames', clip_len=4, test_mode=True),
    dict(type='LoadFeatureFrames'),
    dict(type='PackFeatureInputs'),
]


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmaction')


@pytest.fixture
def root(tmp_path):
    """``ann/{train,test}.lst``, ``ann/counts.lst`` and ``feats/<id>.npy``
    (float32 for v0-v2, float16 for v3-v4; ``[T, 3]`` with ``T = 6 + i``)."""
    (tmp_path / 'ann').mkdir()
    (tmp_path / 'feats').mkdir()
    (tmp_path / 'ann' / 'train.lst').write_text(TRAIN_LIST)
    (tmp_path / 'ann' / 'test.lst').write_text('v3 2\nv4 1,3\n')
    (tmp_path / 'ann' / 'counts.lst').write_text(COUNTS)
    for i in range(5):
        frames = np.arange((6 + i) * FEAT_DIM).reshape(6 + i, FEAT_DIM)
        dtype = np.float32 if i < 3 else np.float16
        np.save(tmp_path / 'feats' / f'v{i}.npy', (frames + i).astype(dtype))
    return tmp_path


def _build(root, type='MultiLabelFeatureDataset', **kwargs):
    cfg = dict(
        type=type,
        ann_file='ann/train.lst',
        data_root=str(root),
        data_prefix=dict(feat='feats'),
        pipeline=PIPELINE,
    )
    if type == 'MultiLabelFeatureDataset':
        cfg.update(num_classes=NUM_CLASSES, head_thr=3, tail_thr=1)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def _write(root, rel, text):
    (root / rel).write_text(text)


# --------------------------------------------------------------- building
def test_metainfo_from_count_file(root):
    ds = _build(root, count_file='ann/counts.lst', feat_dim=FEAT_DIM)
    assert isinstance(ds, MultiLabelFeatureDataset)
    assert len(ds) == 5
    meta = ds.metainfo
    assert meta['classes'] == ('walk', 'run fast', 'jump', 'sit')
    assert meta['class_counts'] == (9, 4, 2, 1)
    assert meta['group_thresholds'] == (3, 1)
    # head > 3, tail <= 1
    assert meta['class_groups'] == dict(head=[0, 1], medium=[2], tail=[3])


def test_metainfo_counted_from_training_list(root):
    ds = _build(root)
    meta = ds.metainfo
    # v0..v4 labels: [0], [0,1], [0,2], [0,1], [3]
    assert meta['class_counts'] == (4, 2, 1, 1)
    assert meta['classes'] == ('class_0', 'class_1', 'class_2', 'class_3')
    assert meta['class_groups'] == dict(head=[0], medium=[1], tail=[2, 3])


def test_class_names_from_metainfo_argument(root):
    names = ('a', 'b', 'c', 'd')
    ds = _build(root, metainfo=dict(classes=names))
    assert ds.metainfo['classes'] == names


def test_class_names_wrong_length(root):
    with pytest.raises(
        ValueError,
        match=re.escape("metainfo['classes'] has 2 names but num_classes=4"),
    ):
        _build(root, metainfo=dict(classes=('a', 'b')))


def test_test_split_grouping_from_train_ann_file(root):
    ds = _build(
        root,
        ann_file='ann/test.lst',
        train_ann_file='ann/train.lst',
        test_mode=True,
    )
    assert len(ds) == 2
    assert ds.metainfo['class_counts'] == (4, 2, 1, 1)
    assert ds.get_label_lists() == [[2], [1, 3]]


def test_test_split_grouping_from_count_file(root):
    ds = _build(
        root,
        ann_file='ann/test.lst',
        count_file='ann/counts.lst',
        test_mode=True,
    )
    assert ds.metainfo['class_counts'] == (9, 4, 2, 1)


@pytest.mark.parametrize(
    'extra',
    [{}, dict(train_ann_file='ann/test.lst')],
    ids=['nothing', 'own-list'],
)
def test_test_split_needs_training_counts(root, extra):
    with pytest.raises(
        ValueError,
        match=r'a val/test dataset needs the training split to group '
        r"classes: set 'count_file' or 'train_ann_file'.*test\.lst",
    ):
        _build(root, ann_file='ann/test.lst', test_mode=True, **extra)


def test_label_index(root):
    ds = _build(root)
    assert [ds.get_cat_ids(i) for i in range(5)] == [
        [0],
        [0, 1],
        [0, 2],
        [0, 1],
        [3],
    ]
    assert ds.get_label_lists() == [[0], [0, 1], [0, 2], [0, 1], [3]]
    info = ds.get_data_info(2)
    assert info['video_id'] == 'v2'
    assert info['label'] == [0, 2]
    assert info['feature_root'] == str(root / 'feats')
    assert info['num_classes'] == NUM_CLASSES


def test_absolute_paths_and_string_prefix(root):
    ds = MultiLabelFeatureDataset(
        ann_file=str(root / 'ann' / 'train.lst'),
        num_classes=NUM_CLASSES,
        head_thr=3,
        tail_thr=1,
        data_prefix=str(root / 'feats'),
        count_file=str(root / 'ann' / 'counts.lst'),
    )
    assert ds.get_data_info(0)['feature_root'] == str(root / 'feats')
    assert ds.metainfo['class_counts'] == (9, 4, 2, 1)


@pytest.mark.parametrize('index, dtype', [(1, np.float32), (4, np.float16)])
def test_getitem(root, index, dtype):
    ds = _build(root, count_file='ann/counts.lst', feat_dim=FEAT_DIM)
    out = ds[index]
    stored = np.load(root / 'feats' / f'v{index}.npy')
    assert stored.dtype == dtype
    inputs = out['inputs']
    assert inputs.dtype == torch.float32
    assert inputs.shape == (1, 4, FEAT_DIM)
    total = 6 + index
    inds = np.floor((np.arange(4) + 0.5) * total / 4).astype(int)
    assert torch.equal(
        inputs[0], torch.from_numpy(stored[inds].astype(np.float32))
    )
    sample = out['data_samples']
    expected = torch.zeros(NUM_CLASSES)
    expected[ds.get_cat_ids(index)] = 1
    assert torch.equal(get_gt_label(sample), expected)
    assert sample.video_id == f'v{index}'
    assert sample.total_frames == total


def test_videolt_preset(root):
    ds = _build(root, type='VideoLTDataset')
    assert isinstance(ds, VideoLTDataset)
    assert ds.num_classes == 1004
    assert ds.metainfo['group_thresholds'] == (500, 100)
    assert len(ds.metainfo['classes']) == 1004
    assert ds.metainfo['class_counts'][:4] == (4, 2, 1, 1)
    assert ds.metainfo['class_groups']['head'] == []
    assert ds.metainfo['class_groups']['tail'] == list(range(1004))
    out = ds[0]
    assert get_gt_label(out['data_samples']).shape == (1004,)


def test_charades_preset(root):
    ds = _build(root, type='CharadesLTDataset', feat_dim=FEAT_DIM)
    assert isinstance(ds, CharadesLTDataset)
    assert ds.num_classes == 157
    assert ds.metainfo['group_thresholds'] == (100, 20)
    assert len(ds.metainfo['class_counts']) == 157
    assert ds[3]['inputs'].shape == (1, 4, FEAT_DIM)


# ------------------------------------------------------------- bad input
def test_missing_feature_file(root):
    os.remove(root / 'feats' / 'v2.npy')
    ds = _build(root)
    path = str(root / 'feats' / 'v2.npy')
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(f"feature file of video 'v2' not found: {path}"),
    ):
        ds[2]


@pytest.mark.parametrize('shape', [(5,), (2, 3, 4)])
def test_wrong_rank(root, shape):
    np.save(root / 'feats' / 'v1.npy', np.zeros(shape, np.float32))
    ds = _build(root)
    path = str(root / 'feats' / 'v1.npy')
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{path}: features of video 'v1' must be a "
            f'[frames, dim] array, got shape {shape}'
        ),
    ):
        ds[1]


def test_wrong_feature_dim(root):
    ds = _build(root, feat_dim=8)
    path = str(root / 'feats' / 'v0.npy')
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{path}: feature dim of video 'v0' is 3, expected feat_dim=8"
        ),
    ):
        ds[0]


def test_zero_frames(root):
    np.save(root / 'feats' / 'v0.npy', np.zeros((0, 3), np.float32))
    ds = _build(root)
    path = str(root / 'feats' / 'v0.npy')
    with pytest.raises(
        ValueError, match=re.escape(f"{path}: video 'v0' has 0 frames")
    ):
        ds[0]


def test_not_a_npy_file(root):
    (root / 'feats' / 'v0.npy').write_bytes(b'not an array')
    ds = _build(root)
    path = str(root / 'feats' / 'v0.npy')
    with pytest.raises(
        ValueError, match=re.escape(f'{path}: cannot read as a .npy')
    ):
        ds[0]


@pytest.mark.parametrize('bad', [np.nan, np.inf], ids=['nan', 'inf'])
def test_non_finite_features(root, bad):
    array = np.ones((8, 3), np.float16)
    array[:, 2] = bad  # every frame, so any sampling reads it
    np.save(root / 'feats' / 'v3.npy', array)
    ds = _build(root)
    path = str(root / 'feats' / 'v3.npy')
    with pytest.raises(
        ValueError,
        match=re.escape(
            f'{path}: non-finite (NaN/inf) features in '
            "video 'v3' at frames [1, 3, 5, 7]"
        ),
    ):
        ds[3]


@pytest.mark.parametrize(
    'text, message',
    [
        ('v0 0\nv1 4\n', r":2: label 4 of video 'v1' is outside \[0, 4\)"),
        ('v0 0\nv1 -1\n', r":2: label -1 of video 'v1' is outside \[0, 4\)"),
        ('v0 0\nv1 1,\n', r":2: empty label in '1,' for video 'v1'"),
        ('v0 0\nv1\n', r':2: expected "<video id> <label>'),
        (
            'v0 0\nv1 1\nv0 2\n',
            r":3: duplicate video id 'v0' \(first seen on line 1\)",
        ),
    ],
    ids=['too-large', 'negative', 'empty-label', 'malformed', 'duplicate'],
)
def test_bad_annotation_list(root, text, message):
    _write(root, 'ann/bad.lst', text)
    path = str(root / 'ann' / 'bad.lst')
    with pytest.raises(ValueError, match=re.escape(path) + message):
        _build(root, ann_file='ann/bad.lst')


def test_bad_training_list_for_counts(root):
    _write(root, 'ann/bad_train.lst', 'v0 9\n')
    path = str(root / 'ann' / 'bad_train.lst')
    with pytest.raises(
        ValueError, match=re.escape(f"{path}:1: label 9 of video 'v0'")
    ):
        _build(
            root,
            ann_file='ann/test.lst',
            test_mode=True,
            train_ann_file='ann/bad_train.lst',
        )


def test_count_file_disagrees_with_num_classes(root):
    _write(root, 'ann/counts5.lst', COUNTS + 'lie 4 3\n')
    path = str(root / 'ann' / 'counts5.lst')
    with pytest.raises(
        ValueError,
        match=re.escape(
            f'{path}: the count file lists 5 classes but num_classes=4'
        ),
    ):
        _build(root, count_file='ann/counts5.lst')


def test_missing_count_file(root):
    path = str(root / 'ann' / 'nope.lst')
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(
            f"class-count file not found: {path} (config key 'count_file')"
        )
        + '.*docs/data.md',
    ):
        _build(root, count_file='ann/nope.lst')


def test_missing_ann_file(root):
    path = str(root / 'ann' / 'val.lst')
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(f'annotation file not found: {path}.')
        + '.*docs/data.md',
    ):
        _build(root, ann_file='ann/val.lst')


def test_missing_feature_directory(root):
    path = str(root / 'resnet50')
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(
            f"feature directory not found: {path} (from data_prefix['feat'])"
        )
        + '.*docs/data.md',
    ):
        _build(root, data_prefix=dict(feat='resnet50'))


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(num_classes=0), 'num_classes must be a positive int, got 0'),
        (dict(num_classes=4.0), 'num_classes must be a positive int, got 4.0'),
        (
            dict(data_prefix=dict(img='feats')),
            "data_prefix must have the key 'feat'",
        ),
        (
            dict(head_thr=1, tail_thr=1),
            'group thresholds must satisfy tail_thr < head_thr, got '
            'head_thr=1, tail_thr=1',
        ),
    ],
)
def test_bad_arguments(root, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _build(root, **kwargs)


# ------------------------------------------------ label-masked resampling
def test_encoded_index_loads_the_video_with_its_drawn_class(root):
    from meid_mmaction.datasets.samplers import encode_drawn_index

    ds = _build(root)
    assert ds.accepts_drawn_index
    # v2 has classes {0, 2}: drawn through each of them
    for cls in (0, 2):
        idx = int(encode_drawn_index([2], [cls], len(ds))[0])
        out = ds[idx]
        plain = ds[2]
        assert torch.equal(out['inputs'], plain['inputs'])
        assert out['data_samples'].metainfo['video_id'] == 'v2'
        assert out['data_samples'].metainfo['drawn_class'] == cls
        assert 'drawn_class' not in plain['data_samples'].metainfo
    bad = int(encode_drawn_index([2], [NUM_CLASSES], len(ds))[0])
    with pytest.raises(ValueError, match='decodes to class 4, outside'):
        ds[bad]


def test_sampler_batches_carry_the_drawn_class(root):
    from mmaction.registry import DATA_SAMPLERS
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    ds = _build(root)
    sampler = DATA_SAMPLERS.build(
        dict(
            type='ClassBalancedSampler',
            seed=0,
            label_mask=True,
            num_samples=40,
        ),
        default_args=dict(dataset=ds),
    )
    loader = DataLoader(
        ds, batch_size=8, sampler=sampler, collate_fn=pseudo_collate
    )
    seen = set()
    for batch in loader:
        for data_sample in batch['data_samples']:
            video = int(data_sample.metainfo['video_id'][1:])
            drawn = data_sample.metainfo['drawn_class']
            assert drawn in ds.get_cat_ids(video)
            seen.add((video, drawn))
    assert (1, 0) in seen and (1, 1) in seen  # v1 = {0, 1} via both
