"""Shared command-line plumbing of ``tools/train.py`` and ``tools/test.py``."""

import argparse
import logging
import os
import os.path as osp
import pickle
import sys
import traceback
from typing import Callable, Optional, Sequence

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
    add_debug_arg(parser)


def add_debug_arg(parser: argparse.ArgumentParser) -> None:
    """``--debug``: a known bad input ends in its traceback (see
    :func:`run_tool`), not in its message alone."""
    parser.add_argument(
        '--debug',
        action='store_true',
        help='on a known bad input (a missing file, a wrong value), print '
        'the traceback too instead of the message alone',
    )


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


#: Errors that report a bad input (a missing file, a wrong value, an
#: unreadable checkpoint): their message says what is wrong and how to fix
#: it, and :func:`run_tool` shows it alone. Anything else is a bug and keeps
#: its traceback.
USER_ERRORS = (
    ValueError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    pickle.UnpicklingError,
)


def _log_files() -> list:
    """Files the current mmengine logger writes to (the run's log)."""
    from mmengine.logging import MMLogger

    if not MMLogger._instance_dict:  # no runner logged anything
        return []
    logger = MMLogger.get_current_instance()
    return [h for h in logger.handlers if isinstance(h, logging.FileHandler)]


def save_traceback(err: BaseException) -> Optional[str]:
    """Append ``err``'s traceback to the current run's log file(s).

    Returns:
        str | None: The (first) log file, None if the run has none (the
        error came before a runner was built).
    """
    text = ''.join(
        traceback.format_exception(type(err), err, err.__traceback__)
    )
    path = None
    for handler in _log_files():
        handler.acquire()
        try:
            handler.stream.write(text)
            handler.flush()
        finally:
            handler.release()
        path = path or handler.baseFilename
    return path


def run_tool(
    main: Callable[[], Optional[int]],
    argv: Optional[Sequence[str]] = None,
    stream=None,
) -> int:
    """Run a tool's ``main``; a bad input ends in its message, last and
    alone.

    An error of :data:`USER_ERRORS` (e.g. a missing annotation file) would
    otherwise end a run in a long traceback after the environment dump.
    Instead its traceback goes to the run's log file (when a runner was
    built) and the tool writes ``<ErrorType>: <message>`` as the last line
    of ``stream`` (stderr), preceded by a line saying where the traceback
    is. With ``--debug`` in ``argv`` (``sys.argv`` by default) the error is
    raised as usual. Other exceptions (bugs) are raised as usual.

    Args:
        main: The tool's entry point; its return value is the exit status
            (None: 0).
        argv (list[str], optional): Command-line arguments checked for
            ``--debug``.
        stream (TextIO, optional): Where the message goes (stderr).

    Returns:
        int: ``main``'s exit status, or 1 after a bad input.
    """
    argv = sys.argv[1:] if argv is None else argv
    if '--debug' in argv:
        return main() or 0
    try:
        return main() or 0
    except USER_ERRORS as err:
        log = save_traceback(err)
        stream = sys.stderr if stream is None else stream
        sys.stdout.flush()
        where = (
            f'traceback in {log}' if log else 'no traceback saved'
        ) + '; --debug prints it here'
        stream.write(f'\n[{where}]\n{type(err).__name__}: {err}\n')
        stream.flush()
        return 1
