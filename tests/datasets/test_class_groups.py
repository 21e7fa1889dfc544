"""Class grouping: counting, head/medium/tail split, metainfo, file writing."""

import re

import numpy as np
import pytest

from meid_mmaction.datasets.annotations import (
    parse_class_counts,
    parse_label_list,
)
from meid_mmaction.datasets.class_groups import (
    ClassGroups,
    check_group_indices,
    counts_from_labels,
    split_groups,
    write_count_file,
    write_label_list,
)


def test_counts_from_labels():
    counts = counts_from_labels([[0, 2], [2], [], [1, 2]], 4)
    assert counts.dtype == np.int64
    assert counts.tolist() == [1, 1, 3, 0]


# ----------------------------------------------------------------- groups
def test_split_groups_boundaries():
    #        0    1    2    3   4   5   6  7
    counts = [501, 500, 101, 100, 99, 0, 600, 250]
    groups = split_groups(counts, head_thr=500, tail_thr=100)
    assert groups == dict(head=[0, 6], medium=[1, 2, 7], tail=[3, 4, 5])
    assert all(isinstance(i, int) for g in groups.values() for i in g)


def test_split_groups_empty_groups():
    assert split_groups(np.array([5, 6]), 10, 1) == dict(
        head=[], medium=[0, 1], tail=[]
    )


@pytest.mark.parametrize('head, tail', [(100, 100), (20, 100)])
def test_split_groups_bad_thresholds(head, tail):
    with pytest.raises(
        ValueError,
        match=re.escape(
            'group thresholds must satisfy tail_thr < '
            f'head_thr, got head_thr={head}, '
            f'tail_thr={tail}'
        ),
    ):
        split_groups([1, 2], head, tail)


# -------------------------------------------------------------- ClassGroups
def test_from_counts_publishes_plain_metainfo():
    grouping = ClassGroups.from_counts(
        [9, 4, 2, 1], 3, 1, names=['a', 'b', 'c', 'd']
    )
    assert grouping.num_classes == 4
    meta = grouping.to_metainfo()
    assert meta == dict(
        classes=('a', 'b', 'c', 'd'),
        class_counts=(9, 4, 2, 1),
        group_thresholds=(3, 1),
        class_groups=dict(head=[0, 1], medium=[2], tail=[3]),
    )
    assert all(type(c) is int for c in meta['class_counts'])
    assert ClassGroups.from_counts([1, 2], 5, 1).names == (
        'class_0',
        'class_1',
    )
    with pytest.raises(ValueError, match='3 class names for 2 class counts'):
        ClassGroups.from_counts([1, 2], 5, 1, names=['a', 'b', 'c'])


def test_from_metainfo_resolution_order():
    meta = dict(
        classes=('a', 'b', 'c'),
        class_counts=(10, 5, 1),
        group_thresholds=(6, 1),
        class_groups=dict(head=[1], medium=[], tail=[0, 2]),
    )
    # the published groups win over the counts ...
    assert ClassGroups.from_metainfo(meta).groups == dict(
        head=[1], medium=[], tail=[0, 2]
    )
    # ... unless thresholds are given: then the counts are split again
    assert ClassGroups.from_metainfo(meta, (4, 1)).groups == dict(
        head=[0, 1], medium=[], tail=[2]
    )
    counts_only = dict(class_counts=(10, 5, 1), group_thresholds=(6, 1))
    grouping = ClassGroups.from_metainfo(counts_only)
    assert grouping.groups == dict(head=[0], medium=[1], tail=[2])
    assert grouping.thresholds == (6, 1)
    groups_only = dict(class_groups=dict(head=[0], tail=[1]))
    assert ClassGroups.from_metainfo(groups_only).groups == dict(
        head=[0], medium=[], tail=[1]
    )
    assert ClassGroups.from_metainfo(groups_only).num_classes is None


def test_from_metainfo_errors():
    with pytest.raises(
        ValueError,
        match=r'reader has no class counts.*'
        r"keys: \['classes'\]",
    ):
        ClassGroups.from_metainfo(dict(classes=('a',)), where='reader')
    with pytest.raises(ValueError, match='reader needs head_thr and tail_thr'):
        ClassGroups.from_metainfo(dict(class_counts=(1, 2)), where='reader')


def test_dataset_metainfo_round_trip():
    grouping = ClassGroups.from_counts([9, 4, 2, 1], 3, 1)
    again = ClassGroups.from_metainfo(grouping.to_metainfo())
    assert again == grouping


def test_check_group_indices():
    assert check_group_indices(
        dict(head=[2, 0], medium=[], tail=[1]), 3
    ) == dict(head=[0, 2], medium=[], tail=[1])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "src: class_groups['tail'] has indices [3] outside [0, 3)"
        ),
    ):
        check_group_indices(dict(head=[0], medium=[], tail=[3]), 3, 'src')
    with pytest.raises(ValueError, match="keys 'head' and 'tail', got"):
        check_group_indices(dict(head=[0]), 3, names=('head', 'tail'))


# ------------------------------------------------------------------ writers
def test_writers_round_trip_through_the_readers(tmp_path):
    lst, cnt = str(tmp_path / 'a.lst'), str(tmp_path / 'c.lst')
    write_label_list(lst, ['v0', 'v1'], [[0, 2], np.array([1])])
    assert open(lst).read() == 'v0 0,2\nv1 1\n'
    assert parse_label_list(lst, 3) == (['v0', 'v1'], [[0, 2], [1]])
    write_count_file(cnt, ['my class', 'b'], np.array([7, 0]))
    assert open(cnt).read() == 'my class 0 7\nb 1 0\n'
    names, counts = parse_class_counts(cnt, 2)
    assert names == ['my class', 'b'] and counts.tolist() == [7, 0]
