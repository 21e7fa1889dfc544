"""Train a model from a config: ``python tools/train.py CONFIG [options]``."""

import argparse
import sys

from meid_mmaction.engine.deferred_scalars import amp_wrapper_type
from meid_mmaction.utils.checkpoint import (
    check_checkpoint_matches_model,
    check_resume_checkpoint,
    find_resume_checkpoint,
)
from meid_mmaction.utils.cli import (
    add_common_args,
    build_runner,
    load_config,
    run_tool,
)
from meid_mmaction.utils.distributed import distributed_session


def parse_args():
    parser = argparse.ArgumentParser(description='Train a recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint (an error if it cannot be '
        'read), or, without a path, from the latest checkpoint of the work '
        'dir (the newest readable one if the latest is broken; a warning '
        'and a fresh start if the work dir has none)',
    )
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision'
    )
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size',
    )
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic cuDNN / algorithms',
    )
    parser.add_argument(
        '--check-data',
        choices=['off', 'lists', 'headers', 'full'],
        default=None,
        help='pre-flight check of all splits before training (default '
        '"headers": lists, count file and feature shapes; "full" also reads '
        'every value for NaN / inf); see DatasetCheckHook',
    )
    add_common_args(parser)
    return parser.parse_args()


def merge_args(cfg, args):
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.amp:
        cfg.optim_wrapper.type = amp_wrapper_type(
            cfg.optim_wrapper.get('type', 'OptimWrapper')
        )
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.check_data is not None:
        hooks = [
            h
            for h in cfg.get('custom_hooks') or []
            if h.get('type') != 'DatasetCheckHook'
        ]
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


def resolve_resume(cfg, resume):
    """Set ``cfg.resume`` / ``cfg.load_from`` for ``--resume [PATH]``.

    The checkpoint is checked here, before anything is built: an explicit
    path that cannot be read is an error naming it; without a path the
    latest readable checkpoint of the work dir is used.

    Returns:
        list: warnings to log (fallback to an earlier checkpoint, or no
        checkpoint at all and a fresh start).
    """
    if resume is None:
        return []
    if resume == 'auto':
        path, notes = find_resume_checkpoint(cfg.work_dir)
    else:
        check_resume_checkpoint(resume)
        path, notes = resume, []
    if path is None:  # nothing to resume: a fresh run (keeps load_from)
        cfg.resume = False
    else:
        cfg.resume = True
        cfg.load_from = path
    return notes


def main():
    args = parse_args()
    cfg = merge_args(load_config(args), args)
    notes = resolve_resume(cfg, args.resume)
    # N processes on CPU (gloo) or GPUs; the group is destroyed at the end
    with distributed_session(cfg):
        runner = build_runner(cfg)
        if cfg.get('resume') and cfg.get('load_from'):
            # another model's checkpoint: named, before torch fails on it
            check_checkpoint_matches_model(cfg.load_from, runner.model)
        for note in notes:
            runner.logger.warning(note)
        runner.train()
        del runner  # the group is freed only when nothing references it


if __name__ == '__main__':
    sys.exit(run_tool(main))
