"""Train a model from a config: ``python tools/train.py CONFIG [options]``."""
import argparse

from meid_mmaction.utils.cli import add_common_args, build_runner, load_config
from meid_mmaction.utils.distributed import distributed_session


def parse_args():
    parser = argparse.ArgumentParser(description='Train a recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic cuDNN / algorithms')
    parser.add_argument(
        '--check-data',
        choices=['off', 'lists', 'headers', 'full'],
        default=None,
        help='pre-flight check of all splits before training (default '
        '"headers": lists, count file and feature shapes; "full" also reads '
        'every value for NaN / inf); see DatasetCheckHook')
    add_common_args(parser)
    return parser.parse_args()


def merge_args(cfg, args):
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError('--amp needs optim_wrapper.type OptimWrapper or '
                             f'AmpOptimWrapper, got {optim_wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.check_data is not None:
        hooks = [h for h in cfg.get('custom_hooks') or []
                 if h.get('type') != 'DatasetCheckHook']
        cfg.custom_hooks = hooks + [
            dict(type='DatasetCheckHook', check=args.check_data)
        ]
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.seed is not None or args.deterministic:
        randomness = cfg.get('randomness', {})
        if args.seed is not None:
            randomness['seed'] = args.seed
        if args.deterministic:
            randomness['deterministic'] = True
        cfg.randomness = randomness
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(load_config(args), args)
    # N processes on CPU (gloo) or GPUs; the group is destroyed at the end
    with distributed_session(cfg):
        build_runner(cfg).train()


if __name__ == '__main__':
    main()
