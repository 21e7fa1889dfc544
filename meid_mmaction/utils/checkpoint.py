"""Load mmengine checkpoints with ``torch.load(weights_only=True)``.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10
checkpoints then fail: their ``message_hub`` pickles ``HistoryBuffer`` objects
holding numpy arrays and scalars. Instead of switching ``weights_only`` off,
we allow exactly the types mmengine writes, only for the duration of each
load, and refuse any other pickled global with an error naming it.

:func:`register_checkpoint_loader` replaces mmengine's loader for local files
(``CheckpointLoader`` scheme ``''``), which ``load_from``, ``--resume`` and
``tools/test.py`` all go through. It is called on ``import meid_mmaction``.
Like mmengine's own loader it expands ``~`` and raises
``FileNotFoundError`` for a missing file. On torch < 2.5 (no scoped
allow-list) it falls back to torch's default ``torch.load`` and says so once.

A file that cannot be read (empty, truncated, not a torch file) raises
:class:`CheckpointReadError` naming it and saying what is wrong.
:func:`find_resume_checkpoint` picks the checkpoint ``--resume`` continues
from: the latest one, or the newest earlier one that can be read.
"""

import functools
import os
import os.path as osp
import pickle
import re
import warnings
import zipfile
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

_NUMPY_DTYPE_CLASSES = tuple(
    type(np.dtype(t))
    for t in (
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
    )
)


def _numpy_reconstruct():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    return _reconstruct, scalar


def history_buffer_getattr(obj, name: str):
    """Stand-in for ``builtins.getattr`` during a checkpoint load.

    ``HistoryBuffer.__getstate__`` pickles its statistics methods
    (``HistoryBuffer.min`` ...), which pickle writes as
    ``getattr(HistoryBuffer, 'min')``. Allowing the real ``getattr`` would
    let a file reach any attribute of any allowed class (e.g.
    ``numpy.ndarray.tofile``); this one resolves only statistics methods of
    ``HistoryBuffer`` and refuses everything else.
    """
    if (
        obj is HistoryBuffer
        and isinstance(name, str)
        and not name.startswith('_')
    ):
        method = getattr(HistoryBuffer, name, None)
        known = set(HistoryBuffer._statistics_methods) | {
            'min',
            'max',
            'current',
            'mean',
        }
        if name in known and callable(method):
            return method
    raise pickle.UnpicklingError(
        f'refusing getattr({getattr(obj, "__name__", type(obj).__name__)}, '
        f'{name!r}): only HistoryBuffer statistics methods are allowed'
    )


def safe_globals() -> List:
    """The allow-list: mmengine's ``HistoryBuffer`` (with a ``getattr``
    restricted to its statistics methods) and the numpy classes used to
    pickle arrays, scalars and dtypes (under both the numpy 1 and numpy 2
    module names, so checkpoints written with either load)."""
    reconstruct, scalar = _numpy_reconstruct()
    allowed: List = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        (history_buffer_getattr, 'builtins.getattr'),
    ]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed.append((reconstruct, f'{module}._reconstruct'))
        allowed.append((scalar, f'{module}.scalar'))
    for cls in _NUMPY_DTYPE_CLASSES:
        allowed.append((cls, f'numpy.dtypes.{cls.__name__}'))
    return allowed


def _allowed_names() -> Tuple[str, ...]:
    names = []
    for item in safe_globals():
        if isinstance(item, tuple):
            names.append(item[1])
        else:
            names.append(f'{item.__module__}.{item.__qualname__}')
    return tuple(names)


def _supports_safe_globals() -> bool:
    return hasattr(torch.serialization, 'safe_globals')


def _unpickler_reason(err: Exception) -> str:
    """The specific reason in torch's long weights-only error message."""
    text = str(err)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else repr(err)


@functools.lru_cache(maxsize=None)
def _warn_no_safe_globals() -> None:
    """Say once per process that the allow-list is unavailable."""
    warnings.warn(
        f'torch {torch.__version__} has no torch.serialization.safe_globals '
        "(torch < 2.5): meid_mmaction loads checkpoints with torch.load's "
        'default instead of weights_only=True with the mmengine allow-list',
        UserWarning,
        stacklevel=3,
    )


class CheckpointReadError(ValueError):
    """A checkpoint file exists but cannot be read (the message names it)."""


#: the first bytes of a zip archive (torch >= 1.6 checkpoints)
_ZIP_MAGIC = b'PK\x03\x04'
#: the first byte of a pickle (legacy torch checkpoints start with one)
_PICKLE_PROTO = b'\x80'


def _container_problem(filename: str) -> Optional[str]:
    """What is wrong with the file as a torch checkpoint container, read
    from its size, first bytes and zip directory (None if it looks fine)."""
    size = osp.getsize(filename)
    if size == 0:
        return 'the file is empty (0 bytes)'
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head == _ZIP_MAGIC:
        if not zipfile.is_zipfile(filename):
            return (
                'the file is truncated: it starts as a torch checkpoint '
                f'(zip archive) but its end is missing ({size} bytes); '
                'it was probably cut off while being written'
            )
        return None
    if head[:1] == _PICKLE_PROTO:  # torch's legacy (pre-zip) format
        return None
    return (
        f'not a torch checkpoint: the file ({size} bytes) is neither a '
        'zip archive (torch.save) nor a legacy torch file'
    )


def load_checkpoint_file(filename: str, map_location=None):
    """``torch.load`` with ``weights_only=True`` and the allow-list.

    Args:
        filename (str): Local path; ``~`` is expanded (as mmengine does).
        map_location: As for ``torch.load``.

    Raises:
        FileNotFoundError: if the file does not exist.
        CheckpointReadError: if the file is empty, truncated, not a torch
            checkpoint or otherwise unreadable; the message names the file
            and the problem.
        pickle.UnpicklingError: if the file pickles any global outside the
            allow-list; the message names the offending globals.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    problem = _container_problem(filename)
    if problem is not None:
        raise CheckpointReadError(
            f'{filename}: cannot read the checkpoint: {problem}'
        )
    try:
        return _load(filename, map_location)
    except (pickle.UnpicklingError, CheckpointReadError):
        raise
    except Exception as err:  # noqa: BLE001 - any reader error is named
        raise CheckpointReadError(
            f'{filename}: cannot read the checkpoint, the file is corrupt '
            f'({type(err).__name__}: {err})'
        ) from err


def _load(filename: str, map_location):
    if not _supports_safe_globals():
        # torch < 2.5 has no scoped allow-list; keep torch's own default.
        _warn_no_safe_globals()
        return torch.load(filename, map_location=map_location)
    with torch.serialization.safe_globals(safe_globals()):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True
            )
        except pickle.UnpicklingError as err:
            allowed = set(_allowed_names())
            try:
                found = torch.serialization.get_unsafe_globals_in_checkpoint(
                    filename
                )
            except Exception:  # pragma: no cover - unreadable archive
                found = []
            extra = sorted(g for g in found if g not in allowed)
            if extra:
                reason = (
                    'it pickles global(s) outside the allow-list of '
                    f'mmengine checkpoint types: {", ".join(extra)}'
                )
            else:
                # Only allowed globals, used in a refused way (e.g. the
                # restricted getattr): report torch's own reason.
                reason = _unpickler_reason(err)
            raise pickle.UnpicklingError(
                f'{filename}: refusing to load the checkpoint: {reason}. '
                f'Allowed: {", ".join(sorted(allowed))}. '
                'Re-save the checkpoint with plain tensors / state dicts.'
            ) from None


def register_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints through
    :func:`load_checkpoint_file`."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True
    )


def check_resume_checkpoint(filename: str) -> dict:
    """Load ``filename`` and check that a run can resume from it.

    Returns:
        dict: the checkpoint's ``meta``.

    Raises:
        FileNotFoundError: no such file.
        CheckpointReadError: the file cannot be read, or it is not a
            training checkpoint (no ``meta`` with ``epoch`` and ``iter``, or
            no ``state_dict``).
    """
    checkpoint = load_checkpoint_file(filename, map_location='cpu')
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if (
        not isinstance(meta, dict)
        or not {'epoch', 'iter'} <= set(meta)
        or 'state_dict' not in checkpoint
    ):
        keys = (
            sorted(map(str, checkpoint))
            if isinstance(checkpoint, dict)
            else type(checkpoint).__name__
        )
        raise CheckpointReadError(
            f'{filename}: not a training checkpoint to resume from (needs '
            "'state_dict' and 'meta' with 'epoch' and 'iter'; found "
            f'{keys}). To start a new run from these weights, use '
            'load_from=<file> without --resume'
        )
    return meta


_NUMBERED = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def _numbered_checkpoints(work_dir: str) -> List[str]:
    """``epoch_N.pth`` / ``iter_N.pth`` in ``work_dir``, newest first."""
    if not osp.isdir(work_dir):
        return []
    found = []
    for name in os.listdir(work_dir):
        match = _NUMBERED.match(name)
        if match:
            found.append((int(match.group(2)), osp.join(work_dir, name)))
    return [path for _, path in sorted(found, reverse=True)]


def find_resume_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The checkpoint ``--resume`` (without a path) continues from.

    Candidates, in order: the file named in ``work_dir/last_checkpoint``
    (mmengine's latest), then ``epoch_N.pth`` / ``iter_N.pth`` in
    ``work_dir`` from the highest ``N`` down. The first that
    :func:`check_resume_checkpoint` accepts is used; skipping any candidate
    (unreadable, missing, or no ``last_checkpoint`` file) gives a warning.

    Returns:
        tuple: ``(path, warnings)``; ``path`` is None when the work dir has
        no checkpoint at all (a warning says training starts from scratch).

    Raises:
        CheckpointReadError: checkpoints exist but none can be read; the
            message lists each file and its problem.
    """
    candidates = []
    last_file = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last_file):
        with open(last_file, encoding='utf-8') as f:
            latest = f.read().strip()
        if latest:
            candidates.append(latest)
    for path in _numbered_checkpoints(work_dir):
        if not any(
            osp.exists(c) and osp.samefile(c, path) for c in candidates
        ):
            candidates.append(path)
    if not candidates:
        return None, [
            f'--resume: no checkpoint in the work dir {work_dir} (no '
            'last_checkpoint file, no epoch_*.pth / iter_*.pth): training '
            'starts from scratch'
        ]
    problems = []
    if not osp.isfile(last_file):
        problems.append(f'{last_file} not found')
    for path in candidates:
        try:
            check_resume_checkpoint(path)
        except (FileNotFoundError, CheckpointReadError) as err:
            problems.append(str(err))
            continue
        warnings = []
        if problems:
            warnings.append(
                '--resume: '
                + '; '.join(problems)
                + f'. Resuming from {path} instead (the newest '
                'checkpoint that can be read)'
            )
        return path, warnings
    raise CheckpointReadError(
        f'--resume: no checkpoint in the work dir {work_dir} can be read: '
        + '; '.join(problems)
        + '. Delete the broken files to start from '
        'scratch, or pass --resume <checkpoint>'
    )


class CheckpointModelMismatchError(ValueError):
    """A checkpoint to resume from belongs to a different model (the
    message names the file, missing / unexpected / resized weights)."""


def _listed(names: List[str], limit: int) -> str:
    shown = ', '.join(names[:limit])
    more = len(names) - limit
    return shown + (f' ... (+{more} more)' if more > 0 else '')


def check_checkpoint_matches_model(
    filename: str, model, checkpoint: Optional[dict] = None, limit: int = 4
) -> None:
    """Check that ``filename``'s weights are those of ``model``.

    ``--resume`` restores the weights, the optimizer and the schedule of the
    same model; another model's checkpoint otherwise fails deep in torch
    (``loaded state dict contains a parameter group that doesn't match the
    size of optimizer's group``) or resumes half the weights.

    Args:
        filename (str): The checkpoint (named in the error).
        model (torch.nn.Module): The built model (a wrapper's ``module`` is
            compared).
        checkpoint (dict, optional): The loaded checkpoint, if at hand;
            read from ``filename`` otherwise.
        limit (int): Weights named per kind in the message.

    Raises:
        CheckpointModelMismatchError: Weights of the model missing from the
            checkpoint, weights of the checkpoint the model does not have,
            or weights of another shape; the message names the checkpoint,
            the first few of each and suggests ``load_from``.
    """
    from mmengine.model import is_model_wrapper

    if checkpoint is None:
        checkpoint = load_checkpoint_file(filename, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    if is_model_wrapper(model):
        model = model.module
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    resized = [
        f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
        for k, v in own.items()
        if k in state
        and hasattr(state[k], 'shape')
        and tuple(state[k].shape) != tuple(v.shape)
    ]
    if not (missing or unexpected or resized):
        return
    parts = []
    if missing:
        parts.append(
            f'{len(missing)} weight(s) of the model are not in it: '
            + _listed(missing, limit)
        )
    if unexpected:
        parts.append(
            f'{len(unexpected)} weight(s) in it are not in the model: '
            + _listed(unexpected, limit)
        )
    if resized:
        parts.append(
            f'{len(resized)} weight(s) have another shape (checkpoint vs '
            'model): ' + _listed(resized, limit)
        )
    raise CheckpointModelMismatchError(
        f'--resume {filename}: the checkpoint belongs to a different model '
        f'than this config builds ({type(model).__name__}): '
        + '; '.join(parts)
        + '. --resume continues a run of the same config. To start a new '
        'run from its weights, use load_from instead (`--cfg-options '
        f'load_from={filename}` without --resume; weights that do not fit '
        'are skipped with a warning)'
    )
