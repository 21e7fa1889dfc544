"""Annotation parsers: video lists and class-count files."""

import os.path as osp
import re

import numpy as np
import pytest

from meid_mmaction.datasets.annotations import (
    parse_class_counts,
    parse_label_list,
    parse_video_ids,
)
from meid_mmaction.datasets.class_groups import split_groups


def _write(tmp_path, text, name='list.lst'):
    path = tmp_path / name
    path.write_text(text, encoding='utf-8')
    return str(path)


# ------------------------------------------------------------- video lists
def test_parse_label_list(tmp_path):
    path = _write(
        tmp_path, 'vid_a 3\n\nvid-b 4,1,4\n  vid_c   0,2  \nvid_d 2\n'
    )
    ids, labels = parse_label_list(path, num_classes=5)
    assert ids == ['vid_a', 'vid-b', 'vid_c', 'vid_d']
    assert labels == [[3], [1, 4], [0, 2], [2]]
    # Without num_classes only negatives are refused.
    assert parse_label_list(path) == (ids, labels)


@pytest.mark.parametrize(
    'text, lineno, message',
    [
        ('v0 1\nv1\n', 2, r'expected .*, got 1 fields: .v1.'),
        ('v0 1\nv1 2 3\n', 2, r'expected .*, got 3 fields: .v1 2 3.'),
        ('v1 3,\n', 1, r"empty label in '3,' for video 'v1'"),
        ('v1 ,3\n', 1, r"empty label in ',3'"),
        ('v0 1\nv1 2,x\n', 2, r"label 'x' of video 'v1' is not an integer"),
        ('v0 1.0\n', 1, r"label '1.0' of video 'v0' is not an integer"),
        ('v0 1\n\nv1 5\n', 3, r"label 5 of video 'v1' is outside \[0, 5\)"),
        ('v0 -1\n', 1, r"label -1 of video 'v0' is outside \[0, 5\)"),
        (
            'v0 1\nv1 2\nv0 3\n',
            3,
            r"duplicate video id 'v0' \(first seen on line 1\)",
        ),
    ],
    ids=[
        'one-field',
        'three-fields',
        'trailing-comma',
        'leading-comma',
        'non-integer',
        'float',
        'too-large',
        'negative',
        'duplicate-id',
    ],
)
def test_parse_label_list_errors(tmp_path, text, lineno, message):
    path = _write(tmp_path, text)
    with pytest.raises(
        ValueError, match=re.escape(f'{path}:{lineno}: ') + message
    ):
        parse_label_list(path, num_classes=5)


def test_parse_label_list_negative_without_num_classes(tmp_path):
    path = _write(tmp_path, 'v0 -2\n')
    with pytest.raises(
        ValueError,
        match=re.escape(f"{path}:1: label -2 of video 'v0' is outside [0, C)"),
    ):
        parse_label_list(path)


@pytest.mark.parametrize('text', ['', '\n  \n'], ids=['empty', 'blank'])
def test_parse_label_list_empty(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(
        ValueError, match=re.escape(f'{path}: no video in the list')
    ):
        parse_label_list(path)


# ------------------------------------------------------------ count files
def test_parse_class_counts(tmp_path):
    path = _write(
        tmp_path,
        'Playing guitar 2 7\n3DPainting 0 137.0\n\nA  B   C 1 0\n',
        'counts.lst',
    )
    names, counts = parse_class_counts(path, num_classes=3)
    assert names == ['3DPainting', 'A  B   C', 'Playing guitar']
    assert counts.dtype == np.int64
    assert counts.tolist() == [137, 0, 7]


@pytest.mark.parametrize(
    'text, message',
    [
        (
            'a 0 1\nb 1\n',
            r':2: expected "<class name> <class index> <count>", '
            r"got 'b 1'",
        ),
        (
            'a 0 1\nb x 2\n',
            r':2: class index and count must be integers.*'
            r"got 'x' and '2'",
        ),
        (
            'a 0 1\nb 1 2.5\n',
            r':2: class index and count must be integers.*'
            r"got '1' and '2.5'",
        ),
        ('a 0 1\nb 1.0 2\n', r':2: class index and count must be integers'),
        ('a 0 1\nb 1 -2\n', r":2: negative class index or count in 'b 1 -2'"),
        ('a 0 1\nb -1 2\n', r':2: negative class index or count'),
        (
            'a 0 1\nb 1 2\nc 0 3\n',
            r':3: class index 0 repeated \(first on line 1\)',
        ),
        ('a 0 1\nb 2 2\n', r': class indices must be 0\.\.1; missing \[1\]'),
        ('', r': no class in the count file \(empty file\)'),
    ],
    ids=[
        'two-fields',
        'index-not-int',
        'count-not-integral',
        'index-float',
        'negative-count',
        'negative-index',
        'repeated',
        'missing',
        'empty',
    ],
)
def test_parse_class_counts_errors(tmp_path, text, message):
    path = _write(tmp_path, text, 'counts.lst')
    with pytest.raises(ValueError, match=re.escape(path) + message):
        parse_class_counts(path)


def test_parse_class_counts_num_classes_disagreement(tmp_path):
    path = _write(tmp_path, 'a 0 1\nb 1 2\n', 'counts.lst')
    with pytest.raises(
        ValueError,
        match=re.escape(
            f'{path}: the count file lists 2 classes but num_classes=3'
        ),
    ):
        parse_class_counts(path, num_classes=3)


# ------------------------------------------------------- real VideoLT lists
def test_real_videolt_counts(shared_data):
    path = osp.join(shared_data, 'videolt', 'count-labels-train.lst')
    names, counts = parse_class_counts(path, num_classes=1004)
    assert len(names) == 1004 and counts.shape == (1004,)
    assert names[:2] == ['3DPainting', '3DPrinter']
    assert counts[0] == 137 and counts[1] == 308
    assert counts.min() == 44 and counts.max() == 1912
    groups = split_groups(counts, 500, 100)
    assert [len(groups[k]) for k in ('head', 'medium', 'tail')] == [
        47,
        617,
        340,
    ]
    assert sorted(groups['head'] + groups['medium'] + groups['tail']) == list(
        range(1004)
    )


def test_real_videolt_test_list(shared_data):
    path = osp.join(shared_data, 'videolt', 'test.lst')
    ids, labels = parse_label_list(path, num_classes=1004)
    assert len(ids) == len(labels) == 51239
    assert len(set(ids)) == 51239
    assert ids[0] == 'bmJxIlOApIQ' and labels[0] == [58]
    assert all(label and label == sorted(set(label)) for label in labels)
    flat = [c for label in labels for c in label]
    assert min(flat) >= 0 and max(flat) < 1004


def test_parse_video_ids_labels_optional(tmp_path):
    path = tmp_path / 'new.lst'
    path.write_text('a\n\nb 0,2\nc\n')
    assert parse_video_ids(str(path), num_classes=3) == ['a', 'b', 'c']
    path.write_text('a\nb 3\n')
    with pytest.raises(ValueError, match=r'new.lst:2: label 3 of video'):
        parse_video_ids(str(path), num_classes=3)
    path.write_text('a\nb 0\na\n')
    with pytest.raises(ValueError, match=r"new.lst:3: duplicate video id 'a'"):
        parse_video_ids(str(path))
    path.write_text('\n')
    with pytest.raises(ValueError, match='no video in the list'):
        parse_video_ids(str(path))
