"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

Runs the config's ``test_dataloader`` / ``test_evaluator`` (the test split),
prints the metrics (for ``LongTailMAP``: overall / head / medium / tail mAP)
and can dump the per-video predictions.
"""
import argparse
import os.path as osp

from meid_mmaction.utils.cli import add_common_args, build_runner, load_config
from meid_mmaction.utils.distributed import distributed_session


def parse_args():
    parser = argparse.ArgumentParser(description='Test a recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump the predictions to a pickle file (.pkl) for offline '
        'evaluation')
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
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
        del runner  # the group is freed only when nothing references it
    if rank == 0:
        print('\nTest results (test split):')
        width = max(len(k) for k in metrics) if metrics else 0
        for key, value in metrics.items():
            text = f'{value:.4f}' if isinstance(value, float) else str(value)
            print(f'  {key:<{width}}  {text}')


if __name__ == '__main__':
    main()
