"""Shared command-line plumbing of ``tools/train.py`` and ``tools/test.py``."""

import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from .data_keys import apply_data_keys
from .view_check import check_meid_views


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments both entry points take, as in MMAction2's tools."""
    parser.add_argument('--work-dir', help='directory for logs and outputs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. '
        'train_dataloader.batch_size=64 (key=value, lists as [a,b])',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read the config, apply ``--cfg-options``, the data keys (see
    :mod:`meid_mmaction.utils.data_keys`), launcher and work dir."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    apply_data_keys(cfg)
    cfg.launcher = args.launcher
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join(
            './work_dirs', osp.splitext(osp.basename(args.config))[0]
        )
    return cfg


def add_dataset_check(cfg: Config, check: str = 'headers') -> None:
    """Add ``DatasetCheckHook(check=check)`` to ``cfg.custom_hooks``
    unless the config has one (whose settings are then kept)."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(
        h.get('type') in ('DatasetCheckHook', 'mmaction.DatasetCheckHook')
        for h in hooks
        if isinstance(h, dict)
    ):
        hooks.append(dict(type='DatasetCheckHook', check=check))
    cfg.custom_hooks = hooks


def build_runner(cfg: Config):
    """Build the runner named in the config (``runner_type``) or the
    default one, with the data checks of ``DatasetCheckHook`` (model vs
    dataset ``num_classes``; pre-flight check of the splits before
    training), see :func:`add_dataset_check`; a multi-view val / test
    pipeline for a ``MEIDHead`` without ``frames_per_view`` is refused
    (:func:`~meid_mmaction.utils.view_check.check_meid_views`)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    check_meid_views(cfg)
    add_dataset_check(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def resolve_checkpoint(checkpoint: str, work_dir: str) -> str:
    """A checkpoint path, or ``best`` / ``best_stage1`` / ``best_stage2`` /
    ``last`` looked up in ``work_dir`` (see
    :func:`meid_mmaction.engine.hooks.find_checkpoint`)."""
    from ..engine.hooks import CHECKPOINT_CHOICES, find_checkpoint

    if not osp.isfile(checkpoint) and checkpoint in CHECKPOINT_CHOICES:
        return find_checkpoint(work_dir, checkpoint)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'checkpoint not found: {checkpoint} (a file, or one of '
            f'{list(CHECKPOINT_CHOICES)} in the work dir {work_dir})'
        )
    return checkpoint


def as_test_config(cfg: Config) -> Config:
    """``cfg`` under the file name ``<config name>_test.py``.

    The runner dumps its config into the work dir under the config's file
    name; a test run under this name keeps the training run's dump intact.
    """
    name = osp.splitext(osp.basename(cfg.filename or 'config.py'))[0]
    return Config(
        cfg.to_dict(),
        cfg_text=cfg.text or '# test config\n',
        filename=f'{name}_test.py',
    )
