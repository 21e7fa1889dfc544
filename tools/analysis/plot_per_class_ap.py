"""Plot per-class AP against the training count, and print the grouped
table as markdown.

From the per-class CSV that ``LongTailMAP`` writes at every evaluation
(``<work_dir>/<timestamp>/per_class_ap_<split>_<tag>.csv``)::

    python tools/analysis/plot_per_class_ap.py \\
        work_dirs/meid_synthetic/<timestamp>/per_class_ap_test_epoch_24.csv

From a prediction dump of ``tools/test.py --dump preds.pkl`` (the per-class
AP is computed by ``LongTailMAP``; the training counts come from a count
file or the training list, split with the thresholds)::

    python tools/analysis/plot_per_class_ap.py preds.pkl \\
        --count-file data/synthetic_lt/count-labels-train.lst \\
        --head-thr 100 --tail-thr 20

Writes ``<input stem>.png`` (or ``--out``); from a dump also the CSV
(``<input stem>_per_class_ap.csv`` or ``--csv-out``).
"""

import argparse
import os.path as osp
import pickle
import sys

from meid_mmaction.evaluation.metrics import LongTailMAP
from meid_mmaction.evaluation.reports import (
    group_rows,
    markdown_table,
    plot_per_class_ap,
    read_per_class_csv,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Per-class AP vs. training count (PNG) and the grouped '
        'mAP table (markdown), from a per-class CSV or a prediction dump.'
    )
    parser.add_argument(
        'input',
        help='per-class AP .csv (LongTailMAP) or '
        'prediction dump .pkl (tools/test.py --dump)',
    )
    parser.add_argument(
        '--out',
        help='output image (default: <input '
        'stem>.png); the extension picks the format',
    )
    parser.add_argument('--title', help='plot title')
    parser.add_argument(
        '--head-thr', type=int, help='head classes have more training videos'
    )
    parser.add_argument(
        '--tail-thr', type=int, help='tail classes have at most this many'
    )
    group = parser.add_argument_group('prediction dump (.pkl) input')
    group.add_argument(
        '--count-file', help='training counts, <name> <index> <count>'
    )
    group.add_argument(
        '--train-ann-file', help='training list to count the classes from'
    )
    group.add_argument('--num-classes', type=int)
    group.add_argument(
        '--csv-out',
        help='per-class CSV written from the '
        'dump (default: <input stem>_per_class_ap.csv)',
    )
    args = parser.parse_args(argv)
    if (args.head_thr is None) != (args.tail_thr is None):
        parser.error('give --head-thr and --tail-thr together')
    if args.input.endswith(('.pkl', '.pickle')):
        if (args.count_file is None) == (args.train_ann_file is None):
            parser.error(
                'a .pkl dump needs --count-file or '
                '--train-ann-file (one of them)'
            )
        if args.head_thr is None:
            parser.error('a .pkl dump needs --head-thr and --tail-thr')
    elif not args.input.endswith('.csv'):
        parser.error(f'input must be a .csv or a .pkl file, got {args.input}')
    return args


def per_class_from_dump(args) -> str:
    """Compute the per-class CSV of a prediction dump; return its path."""
    if not osp.isfile(args.input):
        raise FileNotFoundError(f'prediction dump not found: {args.input}')
    with open(args.input, 'rb') as f:
        samples = pickle.load(f)
    if not isinstance(samples, (list, tuple)) or not samples:
        raise ValueError(
            f'{args.input}: expected a non-empty list of '
            f'predictions (tools/test.py --dump), got '
            f'{type(samples).__name__}'
        )
    csv_out = args.csv_out or (
        osp.splitext(args.input)[0] + '_per_class_ap.csv'
    )
    if osp.exists(csv_out):
        raise FileExistsError(f'{csv_out} exists; pass another --csv-out')
    metric = LongTailMAP(
        count_file=args.count_file,
        train_ann_file=args.train_ann_file,
        num_classes=args.num_classes,
        head_thr=args.head_thr,
        tail_thr=args.tail_thr,
        per_class_ap_file=osp.abspath(csv_out),
        topk=(1,),
    )
    metric.process({}, samples)
    metric.compute_metrics(metric.results)
    return metric.last_per_class_file


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.input.endswith('.csv'):
        csv_file = args.input
    else:
        csv_file = per_class_from_dump(args)
        print(f'per-class AP: {csv_file}')
    table = read_per_class_csv(csv_file)
    print(
        markdown_table(
            ('group', 'classes', 'with AP', 'mAP'), group_rows(table)
        )
    )
    out = args.out or osp.splitext(args.input)[0] + '.png'
    thresholds = (
        None if args.head_thr is None else (args.head_thr, args.tail_thr)
    )
    plot_per_class_ap(
        table,
        out,
        thresholds=thresholds,
        title=args.title or osp.basename(csv_file),
    )
    print(f'per-class AP plot: {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
