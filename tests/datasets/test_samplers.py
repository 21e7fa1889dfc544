"""Tests of the class-aware samplers (ClassBalanced / SquareRoot)."""

import json
import math

# tests/datasets is on sys.path (pytest rootdir import mode); the spawned
# gloo workers import the helper module by this name.
import _dist_sampler_worker as dist_worker
import numpy as np
import pytest
import torch
from mmaction.datasets import VideoDataset
from mmaction.registry import DATA_SAMPLERS
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from scipy.stats import chisquare

from meid_mmaction.datasets.label_list_dataset import LabelListDataset
from meid_mmaction.datasets.label_mask import decode_drawn_index
from meid_mmaction.datasets.samplers import (
    ClassAwareSampler,
    ClassBalancedSampler,
    SquareRootSampler,
)
from meid_mmaction.datasets.samplers import class_aware_sampler as cas_mod

# A fixed seed makes every statistical check deterministic; the p-value
# threshold only documents how unlikely a correct sampler is to fail.
P_MIN = 1e-4


class CatIdsDataset:
    """Labels through ``get_cat_ids(idx)`` only."""

    def __init__(self, labels):
        self._labels = labels

    def __len__(self):
        return len(self._labels)

    def get_cat_ids(self, idx):
        return list(self._labels[idx])


class DataInfoDataset:
    """Labels through ``get_data_info(idx)['label']`` only."""

    def __init__(self, labels, num_classes=None):
        self._labels = labels
        if num_classes is not None:
            self.num_classes = num_classes

    def __len__(self):
        return len(self._labels)

    def get_data_info(self, idx):
        return dict(filename=f'v{idx}.mp4', label=self._labels[idx])


def single_label(counts):
    """Single-label lists with ``counts[c]`` videos of class ``c``."""
    return [[c] for c, n in enumerate(counts) for _ in range(n)]


def classes_of(indices, labels):
    return np.array([labels[i][0] for i in indices])


# --------------------------------------------------------------------------
# distributions


def test_balanced_class_frequencies_are_uniform():
    counts = [1, 3, 10, 50, 136]
    labels = single_label(counts)
    sampler = ClassBalancedSampler(
        LabelListDataset(labels), seed=0, num_samples=50_000
    )
    np.testing.assert_array_equal(sampler.class_counts, counts)
    np.testing.assert_array_equal(sampler.class_probs, [0.2] * 5)
    freq = np.bincount(classes_of(list(sampler), labels), minlength=5)
    assert freq.sum() == 50_000
    assert chisquare(freq, [10_000] * 5).pvalue > P_MIN


def test_square_root_class_frequencies():
    counts = [1, 4, 9, 16, 36]  # sqrt: 1, 2, 3, 4, 6 (sum 16)
    labels = single_label(counts)
    sampler = SquareRootSampler(
        LabelListDataset(labels), seed=1, num_samples=48_000
    )
    expected = np.array([1, 2, 3, 4, 6]) / 16
    np.testing.assert_allclose(sampler.class_probs, expected, rtol=1e-12)
    freq = np.bincount(classes_of(list(sampler), labels), minlength=5)
    assert chisquare(freq, expected * 48_000).pvalue > P_MIN


def test_class_power_one_is_proportional_to_class_size():
    counts = [2, 6, 12]
    sampler = ClassAwareSampler(
        LabelListDataset(single_label(counts)), class_power=1.0, seed=0
    )
    np.testing.assert_allclose(sampler.class_probs, np.array(counts) / 20)


def test_multi_label_video_is_in_every_class_it_carries():
    # class 0: {0}; class 1: {0, 1}; class 2: {2}.
    labels = [[0, 1], [1], [2]]
    ds = LabelListDataset(labels)
    balanced = ClassBalancedSampler(ds, seed=2, num_samples=60_000)
    np.testing.assert_array_equal(balanced.class_counts, [1, 2, 1])
    # P(video 0) = 1/3 (class 0) + 1/3 * 1/2 (class 1).
    p_video = np.array([1 / 3 + 1 / 6, 1 / 6, 1 / 3])
    freq = np.bincount(list(balanced), minlength=3)
    assert chisquare(freq, p_video * 60_000).pvalue > P_MIN

    sqrt = SquareRootSampler(ds, seed=2, num_samples=60_000)
    w = np.array([1, math.sqrt(2), 1])
    np.testing.assert_allclose(sqrt.class_probs, w / w.sum())
    p = w / w.sum()
    p_video = np.array([p[0] + p[1] / 2, p[1] / 2, p[2]])
    freq = np.bincount(list(sqrt), minlength=3)
    assert chisquare(freq, p_video * 60_000).pvalue > P_MIN


def test_repeated_class_in_one_label_counts_once():
    sampler = ClassBalancedSampler(DataInfoDataset([[0, 0, 1], [1]]), seed=0)
    np.testing.assert_array_equal(sampler.class_counts, [1, 2])


def test_video_draw_within_a_class_is_uniform():
    labels = single_label([5, 1])  # videos 0..4 are class 0, video 5 class 1
    sampler = ClassBalancedSampler(
        LabelListDataset(labels), seed=3, num_samples=40_000
    )
    freq = np.bincount(list(sampler), minlength=6)
    assert chisquare(freq[:5], [freq[:5].sum() / 5] * 5).pvalue > P_MIN
    # The single video of class 1 gets its class's whole share.
    assert chisquare([freq[:5].sum(), freq[5]], [20_000] * 2).pvalue > P_MIN


# --------------------------------------------------------------------------
# determinism, epochs, lengths


@pytest.mark.parametrize('cls', [ClassBalancedSampler, SquareRootSampler])
def test_deterministic_for_a_seed_and_different_per_epoch(cls):
    ds = LabelListDataset(single_label([3, 5, 20, 40]))
    a, b = cls(ds, seed=7), cls(ds, seed=7)
    epoch0 = list(a)
    assert epoch0 == list(b)
    assert epoch0 == list(a)  # iterating again repeats the epoch
    a.set_epoch(1)
    epoch1 = list(a)
    assert epoch1 != epoch0
    # No hidden state: going back to epoch 0 (a resume) reproduces it, and
    # a fresh sampler set straight to epoch 1 gives epoch 1.
    a.set_epoch(0)
    assert list(a) == epoch0
    b.set_epoch(1)
    assert list(b) == epoch1
    assert list(cls(ds, seed=8)) != epoch0


def test_default_length_and_num_samples_override():
    ds = LabelListDataset(single_label([4, 6]))
    sampler = ClassBalancedSampler(ds, seed=0)
    assert len(sampler) == len(list(sampler)) == 10
    sampler = ClassBalancedSampler(ds, seed=0, num_samples=25)
    assert len(sampler) == len(list(sampler)) == 25


def test_seed_none_uses_sync_random_seed(monkeypatch):
    monkeypatch.setattr(cas_mod, 'sync_random_seed', lambda: 1234)
    ds = LabelListDataset(single_label([2, 3]))
    sampler = SquareRootSampler(ds, seed=None)
    assert sampler.seed == 1234
    assert list(sampler) == list(SquareRootSampler(ds, seed=1234))


def test_negative_and_huge_seeds_work():
    ds = LabelListDataset(single_label([2, 3]))
    assert len(list(ClassBalancedSampler(ds, seed=-5))) == 5
    assert len(list(ClassBalancedSampler(ds, seed=2**70))) == 5


# --------------------------------------------------------------------------
# distributed split (simulated ranks)


def draw_as_rank(monkeypatch, cls, ds, rank, world_size, epoch, **kwargs):
    monkeypatch.setattr(cas_mod, 'get_dist_info', lambda: (rank, world_size))
    sampler = cls(ds, seed=11, **kwargs)
    sampler.set_epoch(epoch)
    return sampler, list(sampler)


@pytest.mark.parametrize('cls', [ClassBalancedSampler, SquareRootSampler])
@pytest.mark.parametrize('num_samples, per_rank', [(None, 4), (7, 3)])
def test_simulated_ranks_share_one_sequence(
    monkeypatch, cls, num_samples, per_rank
):
    ds = LabelListDataset(single_label([1, 2, 7]))  # 10 videos
    world_size = 3
    shares = []
    for rank in range(world_size):
        sampler, share = draw_as_rank(
            monkeypatch, cls, ds, rank, world_size, 2, num_samples=num_samples
        )
        assert len(sampler) == len(share) == per_rank
        shares.append(share)
    # The single-process sequence of the same total length, same epoch.
    _, full = draw_as_rank(
        monkeypatch, cls, ds, 0, 1, 2, num_samples=per_rank * world_size
    )
    for rank in range(world_size):
        assert shares[rank] == full[rank::world_size]


def test_default_length_rounds_up_per_rank(monkeypatch):
    ds = LabelListDataset(single_label([3, 8]))  # 11 videos
    sampler, share = draw_as_rank(
        monkeypatch, ClassBalancedSampler, ds, 1, 4, 0
    )
    assert len(sampler) == len(share) == 3  # ceil(11 / 4)
    assert sampler.total_size == 12


def test_real_two_process_gloo(tmp_path, spawn):
    labels = single_label([2, 5, 13]) + [[0, 2], [1, 2]]  # 22 videos
    labels_path = tmp_path / 'labels.json'
    labels_path.write_text(json.dumps(labels))
    # Two spawned processes join a gloo group; each builds the sampler with
    # seed=None (synced from rank 0) and writes its share.
    spawn(
        dist_worker.run,
        args=(str(labels_path), str(tmp_path), 'SquareRootSampler', 3),
        nprocs=dist_worker.WORLD_SIZE,
    )
    out = [
        json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)
    ]
    assert [o['rank'] for o in out] == [0, 1]
    assert [o['world_size'] for o in out] == [2, 2]
    assert out[0]['seed'] == out[1]['seed']  # synced from rank 0
    assert out[0]['len'] == out[1]['len'] == 11
    assert len(out[0]['indices']) == len(out[1]['indices']) == 11
    full = SquareRootSampler(LabelListDataset(labels), seed=out[0]['seed'])
    full.set_epoch(3)
    full = list(full)
    assert out[0]['indices'] == full[0::2]
    assert out[1]['indices'] == full[1::2]


# --------------------------------------------------------------------------
# label sources


def test_all_label_sources_give_the_same_sequence(tmp_path):
    labels = [[0], [2, 1], [1], [3], [0, 3], [2]]
    ref = list(ClassBalancedSampler(LabelListDataset(labels), seed=5))
    assert list(ClassBalancedSampler(CatIdsDataset(labels), seed=5)) == ref
    info = [lab[0] if len(lab) == 1 else lab for lab in labels]  # int/list
    assert list(ClassBalancedSampler(DataInfoDataset(info), seed=5)) == ref
    tensors = [torch.tensor(lab) for lab in labels]
    assert list(ClassBalancedSampler(DataInfoDataset(tensors), seed=5)) == ref

    # mmaction's own VideoDataset: get_cat_ids raises NotImplementedError
    # (mmengine BaseDataset), get_data_info gives an int (single-label) or
    # a one-hot float tensor [C] (multi_class).
    ann = tmp_path / 'multi.txt'
    ann.write_text(
        ''.join(
            f'v{i}.mp4 ' + ' '.join(map(str, lab)) + '\n'
            for i, lab in enumerate(labels)
        )
    )
    multi = VideoDataset(
        str(ann), pipeline=[], multi_class=True, num_classes=4
    )
    assert list(ClassBalancedSampler(multi, seed=5)) == ref

    single = [[1], [0], [2], [2]]
    ann = tmp_path / 'single.txt'
    ann.write_text(
        ''.join(f'v{i}.mp4 {lab[0]}\n' for i, lab in enumerate(single))
    )
    vd = VideoDataset(str(ann), pipeline=[])
    assert list(SquareRootSampler(vd, seed=1)) == list(
        SquareRootSampler(LabelListDataset(single), seed=1)
    )


# --------------------------------------------------------------------------
# bad input


def test_empty_classes_are_left_out_with_a_warning():
    labels = [[0], [2], [2]]
    ds = LabelListDataset(labels, classes=['run', 'jump', 'swim', 'ski'])
    with pytest.warns(
        UserWarning,
        match=r'2 of 4 classes .* left out of the class '
        r"draw: 1 \('jump'\), 3 \('ski'\)",
    ):
        sampler = ClassBalancedSampler(ds, seed=0, num_samples=2000)
    np.testing.assert_array_equal(sampler.class_probs, [0.5, 0, 0.5, 0])
    assert set(list(sampler)) == {0, 1, 2}

    with pytest.warns(UserWarning, match=r'left out of the class draw: 1$'):
        SquareRootSampler(DataInfoDataset([0, 2], num_classes=3), seed=0)


def test_all_classes_empty_raises():
    ds = LabelListDataset([], classes=['a', 'b'])
    with pytest.raises(
        ValueError,
        match=r'no sample, so all 2 classes are '
        r'empty',
    ):
        ClassBalancedSampler(ds, seed=0)


class ZeroWeightSampler(ClassAwareSampler):
    def class_weights(self, counts):
        return np.zeros(len(counts))


class BadWeightSampler(ClassAwareSampler):
    def class_weights(self, counts):
        return np.array([1.0, -2.0])


class ShortWeightSampler(ClassAwareSampler):
    def class_weights(self, counts):
        return np.ones(1)


def test_class_weights_hook_is_validated():
    ds = LabelListDataset([[0], [1]])
    with pytest.raises(ValueError, match='every class has zero draw weight'):
        ZeroWeightSampler(ds, seed=0)
    with pytest.raises(
        ValueError,
        match=r'weight of class 1 is -2\.0; '
        r'expected finite weights >= 0',
    ):
        BadWeightSampler(ds, seed=0)
    with pytest.raises(
        ValueError,
        match=r'returned shape \(1,\), expected '
        r'\(2,\)',
    ):
        ShortWeightSampler(ds, seed=0)


@pytest.mark.parametrize(
    'ds, match',
    [
        (
            LabelListDataset([[0], [], [1]]),
            r'sample 1 \(get_label_lists\(\)\): sample has no label',
        ),
        (
            CatIdsDataset([[0], [1], []]),
            r'sample 2 \(get_cat_ids\(\)\): sample has no label',
        ),
        (
            DataInfoDataset([0, None]),
            r"sample 1 \(get_data_info\(\)\['label'\]\): label is None",
        ),
        (DataInfoDataset([0, -1]), r'sample 1 .*label is -1'),
        (DataInfoDataset([[0, -3]]), r'sample 0 .*class index -3 .* negative'),
        (
            DataInfoDataset([[0, 1.5]]),
            r'sample 0 .*contains 1\.5 \(float\); expected int class indices',
        ),
        (
            DataInfoDataset([0, 'walk']),
            r"sample 1 .*unsupported label type str \('walk'\)",
        ),
        (
            DataInfoDataset([torch.ones(2, 2)]),
            r'sample 0 .*multi-hot vector \[C\], got shape \(2, 2\)',
        ),
        (
            DataInfoDataset([0, 3], num_classes=3),
            r'sample 1 .*class index 3 is outside \[0, 3\) '
            r'\(dataset.num_classes declares 3 classes\)',
        ),
        (
            LabelListDataset([[0], [1, 5]], classes=['a', 'b']),
            r'sample 1 .*class index 5 is outside \[0, 2\) '
            r"\(metainfo\['classes'\] declares 2",
        ),
    ],
)
def test_bad_labels_raise_naming_the_sample(ds, match):
    with pytest.raises(ValueError, match=match):
        ClassBalancedSampler(ds, seed=0)


def test_missing_label_key_and_accessors():

    class NoLabelKey(DataInfoDataset):
        def get_data_info(self, idx):
            return dict(filename=f'v{idx}.mp4')

    with pytest.raises(
        ValueError,
        match=r'sample 0 \(get_data_info\(\)\): '
        r'no "label" key .*filename',
    ):
        ClassBalancedSampler(NoLabelKey([0]), seed=0)

    class NoAccessor:
        def __len__(self):
            return 2

    with pytest.raises(ValueError, match='NoAccessor has none of'):
        ClassBalancedSampler(NoAccessor(), seed=0)

    class WrongLength(LabelListDataset):
        def __len__(self):
            return 3

    with pytest.raises(
        ValueError,
        match=r'returned 2 label lists, expected '
        r'one per sample .*= 3',
    ):
        ClassBalancedSampler(WrongLength([[0], [1]]), seed=0)


def test_bad_arguments_raise():
    ds = LabelListDataset([[0], [1]])
    with pytest.raises(
        ValueError,
        match=r'num_samples must be a positive '
        r'int or None, got 0',
    ):
        ClassBalancedSampler(ds, seed=0, num_samples=0)
    with pytest.raises(
        ValueError,
        match=r'seed must be an int or None, '
        r"got '1'",
    ):
        ClassBalancedSampler(ds, seed='1')
    with pytest.raises(
        ValueError,
        match=r'class_power must be a finite '
        r'number >= 0, got -1',
    ):
        ClassAwareSampler(ds, class_power=-1, seed=0)
    sampler = ClassBalancedSampler(ds, seed=0)
    with pytest.raises(
        ValueError,
        match=r'epoch must be an int >= 0, '
        r'got -1',
    ):
        sampler.set_epoch(-1)


# --------------------------------------------------------------------------
# building from configs


@pytest.mark.parametrize(
    'cfg, cls',
    [
        (dict(type='ClassBalancedSampler'), ClassBalancedSampler),
        (dict(type='SquareRootSampler', num_samples=12), SquareRootSampler),
        (dict(type='ClassAwareSampler', class_power=0.25), ClassAwareSampler),
    ],
)
def test_build_from_registry(cfg, cls):
    ds = LabelListDataset(single_label([2, 8]))
    sampler = DATA_SAMPLERS.build(cfg, default_args=dict(dataset=ds, seed=3))
    assert type(sampler) is cls
    assert sampler.seed == 3
    assert len(sampler) == cfg.get('num_samples', 10)


class IndexDataset(LabelListDataset):
    """Samples are their own indices (to read the sampled order)."""

    def __getitem__(self, idx):
        return idx


def test_build_through_runner_dataloader():
    ds = IndexDataset(single_label([3, 9]))
    cfg = dict(
        batch_size=4,
        num_workers=0,
        dataset=ds,
        sampler=dict(type='SquareRootSampler', num_samples=16),
    )
    with DefaultScope.overwrite_default_scope('mmaction'):
        loader = Runner.build_dataloader(cfg, seed=5)
    assert isinstance(loader.sampler, SquareRootSampler)
    assert loader.sampler.seed == 5
    batches = list(loader)
    assert [len(b) for b in batches] == [4, 4, 4, 4]
    expected = list(SquareRootSampler(ds, seed=5, num_samples=16))
    assert [i for b in batches for i in b] == expected


# --------------------------------------------------------------------------
# label mask: encoded (video, class) indices


class MaskableDataset(LabelListDataset):
    accepts_drawn_index = True


@pytest.mark.parametrize('cls', [ClassBalancedSampler, SquareRootSampler])
def test_label_mask_encodes_the_drawn_class(cls):
    labels = [[0], [0, 1], [1, 2], [2], [0, 2], [1]]
    ds = MaskableDataset(labels)
    plain = cls(ds, seed=5)
    masked = cls(ds, seed=5, label_mask=True)
    for epoch in (0, 3):
        plain.set_epoch(epoch)
        masked.set_epoch(epoch)
        encoded = list(masked)
        decoded = [decode_drawn_index(i, len(ds)) for i in encoded]
        # the same videos as without the mask, each with a class it carries
        assert [v for v, _ in decoded] == list(plain)
        assert all(c is not None and c in labels[v] for v, c in decoded)
        assert all(
            i == (c + 1) * len(ds) + v for i, (v, c) in zip(encoded, decoded)
        )


def test_label_mask_drawn_classes_follow_the_class_draw():
    # class-balanced: the decoded classes are uniform although class 0
    # has 4x the videos of class 2
    labels = [[0]] * 8 + [[0, 1]] * 4 + [[1, 2]] * 2 + [[2]] * 1
    ds = MaskableDataset(labels)
    sampler = ClassBalancedSampler(
        ds, seed=3, num_samples=30000, label_mask=True
    )
    classes = [decode_drawn_index(i, len(ds))[1] for i in sampler]
    observed = np.bincount(classes, minlength=3)
    assert chisquare(observed).pvalue > P_MIN
    # the video [0, 1] is reached through class 0 and through class 1
    pairs = {decode_drawn_index(i, len(ds)) for i in sampler}
    assert (8, 0) in pairs and (8, 1) in pairs


def test_label_mask_simulated_ranks(monkeypatch):
    ds = MaskableDataset([[0], [0, 1], [1], [1, 2], [2]])
    shares = [
        draw_as_rank(
            monkeypatch, ClassBalancedSampler, ds, r, 2, 4, label_mask=True
        )[1]
        for r in range(2)
    ]
    _, full = draw_as_rank(
        monkeypatch,
        ClassBalancedSampler,
        ds,
        0,
        1,
        4,
        label_mask=True,
        num_samples=6,
    )
    assert shares[0] == full[0::2] and shares[1] == full[1::2]


def test_label_mask_needs_a_decoding_dataset():
    with pytest.raises(
        ValueError,
        match=r'ClassBalancedSampler\(label_mask'
        r'=True\) needs a dataset that decodes .* '
        'LabelListDataset does not',
    ):
        ClassBalancedSampler(LabelListDataset([[0]]), seed=0, label_mask=True)
    with pytest.raises(ValueError, match='label_mask must be a bool'):
        SquareRootSampler(MaskableDataset([[0]]), seed=0, label_mask=1)


def test_decode_drawn_index():
    assert decode_drawn_index(3, 5) == (3, None)
    assert decode_drawn_index(5, 5) == (0, 0)
    assert decode_drawn_index(19, 5) == (4, 2)
    with pytest.raises(ValueError, match='sample index -1 is negative'):
        decode_drawn_index(-1, 5)
