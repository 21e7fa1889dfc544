"""Check a feature dataset before training.

Examples::

    python tools/data/check_dataset.py --config configs/<config>.py \\
        --workers 8 --report check.json
    python tools/data/check_dataset.py --config configs/<config>.py \\
        --cfg-options test_dataloader.dataset.ann_file=test_subset.lst
    python tools/data/check_dataset.py \\
        --ann-file data/videolt/train.lst data/videolt/test.lst \\
        --data-prefix data/videolt/features/ResNet101 \\
        --count-file data/videolt/count-labels-train.lst \\
        --num-classes 1004 --feat-dim 2048 --num-frames 150

Prints a summary table; ``--report`` writes the machine-readable report.
Exit code 0: no problem; 1: problems found (see
``meid_mmaction/datasets/dataset_check.py`` for the checks).
"""

import argparse
import json
import sys
from collections import OrderedDict

from mmengine.config import DictAction

from meid_mmaction.datasets.dataset_check import (
    check_dataset,
    format_report,
    splits_from_config,
)
from meid_mmaction.utils.cli import add_debug_arg, run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Validate lists, count file and features of a dataset.'
    )
    parser.add_argument(
        '--config', help='mmengine config with train / val / test dataloaders'
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override keys of --config as in tools/train.py, e.g. '
        'data_root=data/my_subset (a data key, docs/custom_dataset.md)',
    )
    parser.add_argument(
        '--ann-file',
        nargs='+',
        help='video list(s); the first one is the training '
        'list compared with --count-file',
    )
    parser.add_argument(
        '--data-prefix',
        nargs='+',
        help='feature directory: one, or one per --ann-file',
    )
    parser.add_argument('--num-classes', type=int)
    parser.add_argument('--count-file')
    parser.add_argument('--feat-dim', type=int)
    parser.add_argument(
        '--num-frames', type=int, help='expected frames T per video'
    )
    parser.add_argument(
        '--workers',
        type=int,
        default=4,
        help='threads reading features in parallel',
    )
    parser.add_argument('--report', help='write the JSON report here')
    parser.add_argument(
        '--no-features',
        action='store_true',
        help='check lists and count file only',
    )
    parser.add_argument(
        '--headers-only',
        action='store_true',
        help='read only the header (shape) of every feature '
        'file, not the values (no NaN / inf check); what '
        'training checks by default before it starts',
    )
    add_debug_arg(parser)
    parser.add_argument(
        '--no-progress',
        action='store_true',
        help='no progress report of the feature reads',
    )
    parser.add_argument(
        '--progress-every',
        type=float,
        default=10.0,
        metavar='PERCENT',
        help='when stderr is not a terminal (a log file, a '
        'pipe), one progress line every PERCENT %% of the '
        'videos (default 10); on a terminal the line is '
        'updated in place',
    )
    args = parser.parse_args(argv)
    if not 0 < args.progress_every <= 100:
        parser.error(
            '--progress-every: a percentage in (0, 100], got '
            f'{args.progress_every}'
        )
    if (args.config is None) == (args.ann_file is None):
        parser.error('give either --config or --ann-file (not both)')
    if args.cfg_options is not None and args.config is None:
        parser.error('--cfg-options needs --config')
    if args.ann_file is not None:
        if args.data_prefix is None and not args.no_features:
            parser.error('--ann-file needs --data-prefix')
        prefixes = args.data_prefix or ['.']
        if len(prefixes) not in (1, len(args.ann_file)):
            parser.error(
                f'--data-prefix: give 1 or {len(args.ann_file)} '
                f'directories, got {len(prefixes)}'
            )
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.config is not None:
        cfg = splits_from_config(
            args.config, args.num_classes, args.cfg_options
        )
        splits = cfg['splits']
        for split in splits.values():
            if args.feat_dim is not None:
                split['feat_dim'] = args.feat_dim
            if args.num_frames is not None:
                split['num_frames'] = args.num_frames
        num_classes = cfg['num_classes']
        count_file = args.count_file or cfg['count_file']
    else:
        prefixes = args.data_prefix or ['.']
        if len(prefixes) == 1:
            prefixes = prefixes * len(args.ann_file)
        splits = OrderedDict()
        for i, (ann, root) in enumerate(zip(args.ann_file, prefixes)):
            name = 'train' if i == 0 else f'list{i}'
            splits[name] = dict(
                ann_file=ann,
                feature_root=root,
                feat_dim=args.feat_dim,
                num_frames=args.num_frames,
            )
        num_classes = args.num_classes
        count_file = args.count_file
    report = check_dataset(
        splits,
        num_classes=num_classes,
        count_file=count_file,
        workers=args.workers,
        progress=False if args.no_progress else args.progress_every,
        check_features_too=not args.no_features,
        check_values=not args.headers_only,
    )
    print(format_report(report))
    if args.report:
        with open(args.report, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=2)
    return 0 if report['ok'] else 1


if __name__ == '__main__':
    sys.exit(run_tool(main))
