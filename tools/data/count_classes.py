"""Write the training class-count file of a video list.

``<class name> <class index> <count>`` per line (the format of VideoLT's
``count-labels-train.lst``), counted from a training list
``<video id> <label>[,<label>...]``. Use it for lists that come without a
count file (the released CharadesLT / CharadesEgoLT lists) and after cutting
a dataset down to a subset (docs/data.md)::

    python tools/data/count_classes.py data/charadeslt/train.lst \\
        --num-classes 157 --classes Charades/Charades_v1_classes.txt \\
        --out data/charadeslt/count-labels-train.lst

Prints the head / medium / tail sizes for ``--head-thr`` / ``--tail-thr``.
"""

import argparse
import os.path as osp
import sys

from meid_datatools.charades_lt import read_classes
from meid_mmaction.datasets.annotations import (
    parse_class_counts,
    parse_label_list,
)
from meid_mmaction.datasets.class_groups import (
    ClassGroups,
    counts_from_labels,
    write_count_file,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Count the training videos of every class of a list.'
    )
    parser.add_argument('train_list', help='<video id> <label>[,...] lines')
    parser.add_argument('--out', required=True, help='count file to write')
    parser.add_argument('--num-classes', type=int, required=True)
    names = parser.add_mutually_exclusive_group()
    names.add_argument(
        '--classes',
        help='Charades classes file ("c000 <name>" lines) for the class names',
    )
    names.add_argument(
        '--names-from',
        help='an existing count file whose '
        "class names are kept (e.g. the full dataset's)",
    )
    parser.add_argument('--head-thr', type=int, default=100)
    parser.add_argument('--tail-thr', type=int, default=20)
    parser.add_argument(
        '--force', action='store_true', help='overwrite --out if it exists'
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if osp.exists(args.out) and not args.force:
        print(
            f'error: {args.out} exists (pass --force to overwrite)',
            file=sys.stderr,
        )
        return 1
    _, labels = parse_label_list(args.train_list, args.num_classes)
    counts = counts_from_labels(labels, args.num_classes)
    if args.classes:
        names = read_classes(args.classes)
    elif args.names_from:
        names, _ = parse_class_counts(args.names_from, args.num_classes)
    else:
        names = [f'class_{i}' for i in range(args.num_classes)]
    if len(names) != args.num_classes:
        raise ValueError(
            f'{args.classes or args.names_from}: '
            f'{len(names)} class names, expected '
            f'--num-classes={args.num_classes}'
        )
    write_count_file(args.out, names, counts)
    groups = ClassGroups.from_counts(
        counts, args.head_thr, args.tail_thr, names=names
    ).groups
    sizes = ' / '.join(str(len(groups[g])) for g in ('head', 'medium', 'tail'))
    print(
        f'{args.out}: {len(labels)} videos, {args.num_classes} classes, '
        f'counts {int(min(counts))}..{int(max(counts))}; head / medium / '
        f'tail (>{args.head_thr} / <={args.tail_thr}): {sizes}'
    )
    empty = [g for g in ('head', 'medium', 'tail') if not groups[g]]
    if empty:
        print(
            f'warning: empty group(s) {", ".join(empty)}: their mAP is '
            'undefined; choose --head-thr / --tail-thr for this data '
            '(and set head_thr / tail_thr in the config to match)',
            file=sys.stderr,
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
