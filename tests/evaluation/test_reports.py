"""Per-class CSV, markdown tables and the per-class AP plot."""

import math

import numpy as np
import pytest

from meid_mmaction.evaluation.reports import (
    group_boundaries,
    group_rows,
    markdown_table,
    plot_per_class_ap,
    read_per_class_csv,
    unique_path,
    write_per_class_csv,
)

NAMES = ['a', 'b, with comma', 'c', 'd', 'e', 'f']
COUNTS = [300, 150, 40, 12, 3, 0]
GROUPS = ['head', 'head', 'medium', 'tail', 'tail', 'tail']
AP = [0.9, 0.7, 0.5, float('nan'), 0.2, 0.1]
NPOS = [4, 3, 2, 0, 1, 1]


@pytest.fixture
def table(tmp_path):
    path = str(tmp_path / 'd' / 'ap.csv')
    write_per_class_csv(path, NAMES, COUNTS, dict(enumerate(GROUPS)), NPOS, AP)
    return read_per_class_csv(path)


def test_csv_round_trip(table):
    assert table['class_name'] == NAMES
    assert table['train_count'] == COUNTS
    assert table['group'] == GROUPS
    assert table['num_test_positives'] == NPOS
    assert table['ap'][:3] == [0.9, 0.7, 0.5]
    assert math.isnan(table['ap'][3])


def test_csv_errors_name_the_line(tmp_path):
    bad = tmp_path / 'bad.csv'
    bad.write_text('class,ap\n0,1\n')
    with pytest.raises(ValueError, match=r'bad.csv:1: expected the header'):
        read_per_class_csv(str(bad))
    bad.write_text(
        'class_index,class_name,train_count,group,'
        'num_test_positives,ap\n0,a,3,head,1,0.5\n1,b,x,tail,1,'
        '0.5\n'
    )
    with pytest.raises(ValueError, match=r'bad.csv:3: invalid literal'):
        read_per_class_csv(str(bad))
    bad.write_text(
        'class_index,class_name,train_count,group,'
        'num_test_positives,ap\n0,a,3,body,1,0.5\n'
    )
    with pytest.raises(
        ValueError,
        match=r'bad.csv:2: group must be one of '
        r".*got 'body'",
    ):
        read_per_class_csv(str(bad))
    with pytest.raises(FileNotFoundError, match='missing.csv'):
        read_per_class_csv(str(tmp_path / 'missing.csv'))


def test_unique_path(tmp_path):
    p = tmp_path / 'x.csv'
    assert unique_path(str(p)) == str(p)
    p.write_text('')
    assert unique_path(str(p)) == str(tmp_path / 'x_1.csv')
    (tmp_path / 'x_1.csv').write_text('')
    assert unique_path(str(p)) == str(tmp_path / 'x_2.csv')


def test_markdown_table_exact():
    text = markdown_table(
        ('group', 'mAP'), [('all', '0.5000'), ('head', 'n/a')]
    )
    assert text == (
        '| group | mAP    |\n'
        '|-------|-------:|\n'
        '| all   | 0.5000 |\n'
        '| head  |    n/a |'
    )
    with pytest.raises(ValueError, match='has 1 cells, the header has 2'):
        markdown_table(('a', 'b'), [('x',)])


def test_group_rows_mean_and_empty_group(table):
    rows = group_rows(table)
    assert rows[0] == (
        'all',
        6,
        5,
        f'{np.mean([0.9, 0.7, 0.5, 0.2, 0.1]):.4f}',
    )
    assert rows[1] == ('head', 2, 2, '0.8000')
    assert rows[3] == ('tail', 3, 2, '0.1500')
    table['group'] = ['head'] * 6
    assert group_rows(table)[2] == ('medium', 0, 0, 'n/a')


def test_plot_points_shading_and_group_means(table, tmp_path):
    out = tmp_path / 'plot.png'
    fig = plot_per_class_ap(table, str(out), thresholds=(100, 20))
    assert out.is_file() and out.stat().st_size > 0
    ax = fig.axes[0]
    assert ax.get_xscale() == 'log'
    points = ax.collections[0].get_offsets()
    # class 3 has no AP, class 5 no training video: 4 points
    assert np.asarray(points).tolist() == [
        [300, 0.9],
        [150, 0.7],
        [40, 0.5],
        [3, 0.2],
    ]
    # three shaded x ranges split at the thresholds (tail <= 20 < medium
    # <= 100 < head)
    spans = [p for p in ax.patches]
    assert len(spans) == 3
    ranges = sorted(
        (round(p.get_x(), 6), round(p.get_x() + p.get_width(), 6))
        for p in spans
    )
    assert [r[1] for r in ranges[:2]] == [20.5, 100.5]
    assert [r[0] for r in ranges[1:]] == [20.5, 100.5]
    # one horizontal mean segment per group with an AP, at the group mAP
    means = sorted(
        float(c.get_segments()[0][0][1]) for c in ax.collections[1:]
    )
    assert means == pytest.approx(sorted([0.8, 0.5, 0.15]))


def test_plot_without_thresholds_infers_boundaries(table):
    low, high = group_boundaries(COUNTS, GROUPS)
    assert low == pytest.approx(math.sqrt(12 * 40))
    assert high == pytest.approx(math.sqrt(40 * 150))
    fig = plot_per_class_ap(table)
    assert len(fig.axes[0].collections[0].get_offsets()) == 4
    table['train_count'] = [None] * 6
    with pytest.raises(ValueError, match='no training counts'):
        plot_per_class_ap(table)
