"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

Runs the config's ``test_dataloader`` / ``test_evaluator``, says which list
it evaluated, prints the metrics as a markdown table (for ``LongTailMAP``:
overall / head / medium / tail mAP), and for ``LongTailMAP`` writes the
per-class AP CSV and its plot (per-class AP vs. training count, PNG) into
the run's log directory. Can dump the per-video predictions.
"""

import argparse
import os.path as osp
import sys

from meid_mmaction.engine.hooks.eval_context_hook import (
    evaluated_list,
    split_name,
)
from meid_mmaction.evaluation.reports import (
    group_rows,
    markdown_table,
    plot_per_class_ap,
    read_per_class_csv,
)
from meid_mmaction.utils.cli import (
    add_common_args,
    as_test_config,
    build_runner,
    load_config,
    resolve_checkpoint,
    run_tool,
)
from meid_mmaction.utils.distributed import distributed_session


def parse_args():
    parser = argparse.ArgumentParser(description='Test a recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file, or best (best validation score of the run, '
        'any stage), best_stage1 / best_stage2 (best within a MEID stage) '
        'or last, looked up in the work dir',
    )
    parser.add_argument(
        '--dump',
        type=str,
        help='dump the predictions to a pickle file (.pkl) for offline '
        'evaluation',
    )
    parser.add_argument(
        '--no-plot',
        action='store_true',
        help='do not plot per-class AP vs. training count (PNG)',
    )
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)
    # keep the training run's config dump: this one is <name>_test.py
    cfg = as_test_config(cfg)
    cfg.load_from = resolve_checkpoint(args.checkpoint, cfg.work_dir)
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump must be a .pkl file, got {args.dump}')
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        evaluator = cfg.test_evaluator
        if isinstance(evaluator, (list, tuple)):
            cfg.test_evaluator = [*evaluator, dump_metric]
        else:
            cfg.test_evaluator = [evaluator, dump_metric]
    # N processes on CPU (gloo) or GPUs; the group is destroyed at the end
    with distributed_session(cfg):
        runner = build_runner(cfg)
        metrics, rank = runner.test(), runner.rank
        split = describe_split(cfg, runner)
        per_class = [
            (m.last_per_class_file, m.last_thresholds)
            for m in runner.test_loop.evaluator.metrics
            if getattr(m, 'last_per_class_file', None)
        ]
        del runner  # the group is freed only when nothing references it
    if rank != 0:
        return
    print(f'\nTest results: {split}')
    print(
        markdown_table(
            ('metric', 'value'),
            [
                (
                    key,
                    f'{value:.4f}' if isinstance(value, float) else str(value),
                )
                for key, value in metrics.items()
            ],
        )
    )
    for csv_file, thresholds in per_class:
        print(f'per-class AP: {csv_file}')
        table = read_per_class_csv(csv_file)
        print(
            markdown_table(
                ('group', 'classes', 'with AP', 'mAP'), group_rows(table)
            )
        )
        if args.no_plot:
            continue
        png = osp.splitext(csv_file)[0] + '.png'
        plot_per_class_ap(
            table,
            png,
            thresholds=thresholds,
            title=f'{osp.basename(args.config)}, {osp.basename(csv_file)}',
        )
        print(f'per-class AP plot: {png}')


def _dataset_list(cfg, loader_key):
    """The list a loader of the config reads (``data_root`` joined)."""
    loader = cfg.get(loader_key) or {}
    ds = loader.get('dataset') or {}
    while 'ann_file' not in ds and isinstance(ds.get('dataset'), dict):
        ds = ds['dataset']
    ann_file = ds.get('ann_file')
    if ann_file and ds.get('data_root') and not osp.isabs(ann_file):
        ann_file = osp.join(ds['data_root'], ann_file)
    return ann_file


def describe_split(cfg, runner):
    """Which list the test loop evaluated, named after the list file.

    Says so when it is the list of the validation or training loader.
    """
    ann_file = evaluated_list(runner.test_loop.dataloader.dataset)
    if ann_file is None:
        return 'test_dataloader (its dataset has no ann_file)'
    text = f'{split_name(ann_file, "test")} split ({ann_file})'
    norm = osp.normpath(ann_file)
    for key, what in (
        ('val_dataloader', 'validation'),
        ('train_dataloader', 'training'),
    ):
        other = _dataset_list(cfg, key)
        if other and osp.normpath(other) == norm:
            text += (
                f' -- the same list as {key}: these are {what} '
                'results, not test results'
            )
    return text


if __name__ == '__main__':
    sys.exit(run_tool(main))
