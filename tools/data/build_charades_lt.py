"""Build CharadesLT / CharadesEgoLT from the official annotation files.

Example::

    python tools/data/build_charades_lt.py \\
        --train-csv Charades/Charades_v1_train.csv \\
        --test-csv Charades/Charades_v1_test.csv \\
        --classes Charades/Charades_v1_classes.txt \\
        --out-dir data/charadeslt

Writes ``train.lst``, ``val.lst``, ``test.lst``,
``count-labels-train.lst`` and ``stats.json`` to ``--out-dir`` and prints
the statistics table. The method is described in
``meid_datatools/charades_lt/__init__.py``.
"""

import argparse
import sys

from meid_datatools.charades_lt import (
    PRESETS,
    build_benchmark,
    format_stats,
    read_classes,
)
from meid_mmaction.datasets.annotations import parse_label_list
from meid_mmaction.datasets.class_groups import counts_from_labels


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Build a long-tailed multi-label benchmark from the '
        'official Charades / CharadesEgo annotation CSVs.'
    )
    parser.add_argument(
        '--train-csv', required=True, help='official *_train.csv'
    )
    parser.add_argument(
        '--test-csv',
        required=True,
        help='official *_test.csv (val and test are drawn from it)',
    )
    parser.add_argument(
        '--classes',
        required=True,
        help='classes file, lines "c000 <class name>"',
    )
    parser.add_argument(
        '--out-dir', required=True, help='output directory for the lists'
    )
    parser.add_argument(
        '--preset',
        choices=sorted(PRESETS),
        default='charades',
        help='default options of a published benchmark',
    )
    parser.add_argument(
        '--profile',
        choices=['natural', 'exp', 'zipf'],
        help='shape of the target class counts',
    )
    parser.add_argument(
        '--exponent', type=float, help='exponent p of the profile'
    )
    parser.add_argument(
        '--max-count',
        type=float,
        help='target count of the most frequent class',
    )
    parser.add_argument(
        '--min-count',
        type=float,
        help='target count of the least frequent class',
    )
    parser.add_argument(
        '--num-train',
        type=int,
        help='requested number of training videos (<= 0: '
        'let the profile decide)',
    )
    parser.add_argument(
        '--size-weight', type=float, help='weight of the training-size term'
    )
    parser.add_argument('--num-val', type=int, help='validation videos')
    parser.add_argument('--num-test', type=int, help='test videos')
    parser.add_argument(
        '--head-thr',
        type=int,
        default=100,
        help='head classes: count > head-thr',
    )
    parser.add_argument(
        '--tail-thr',
        type=int,
        default=20,
        help='tail classes: count <= tail-thr',
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--reference-list',
        help='a released training list (e.g. CharadesLT_train.txt): its '
        'per-class counts become the targets (instead of the profile) and '
        'its size the requested number of training videos',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    opts = dict(PRESETS[args.preset])
    for key in (
        'profile',
        'exponent',
        'max_count',
        'min_count',
        'num_train',
        'size_weight',
        'num_val',
        'num_test',
    ):
        value = getattr(args, key)
        if value is not None:
            opts[key] = value
    if opts['num_train'] is not None and opts['num_train'] <= 0:
        opts['num_train'] = None
    reference = None
    if args.reference_list is not None:
        _, ref_labels = parse_label_list(args.reference_list, None)
        reference = counts_from_labels(
            ref_labels, len(read_classes(args.classes))
        )
        opts['num_train'] = len(ref_labels)
    stats = build_benchmark(
        args.train_csv,
        args.test_csv,
        args.classes,
        args.out_dir,
        head_thr=args.head_thr,
        tail_thr=args.tail_thr,
        seed=args.seed,
        reference_counts=reference,
        **opts,
    )
    print(f'{args.preset} preset -> {args.out_dir}')
    print(format_stats(stats))
    if stats['dropped_train_no_action'] or stats['dropped_test_no_action']:
        print(
            f'note: dropped {stats["dropped_train_no_action"]} training '
            f'and {stats["dropped_test_no_action"]} test videos without '
            'any action'
        )
    if stats['classes_without_test_positive']:
        print(
            f'warning: {len(stats["classes_without_test_positive"])} '
            'classes have no test positive; they are left out of mAP'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
