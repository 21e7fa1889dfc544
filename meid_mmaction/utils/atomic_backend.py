"""Atomic local file writes for checkpoints.

mmengine's ``LocalBackend.put`` opens the destination and writes into it, so
a process killed during a save (``kill -9``, a pre-empted job, a full disk)
leaves a truncated ``epoch_N.pth`` under the final name. :func:`atomic_write`
writes to a temporary file in the same directory, flushes and ``fsync``\\ s
it, then ``os.replace``\\ s it onto the final name (atomic on POSIX and
Windows) and ``fsync``\\ s the directory: a reader sees either the previous
file or the complete new one, never a part.

:class:`AtomicLocalBackend` is mmengine's ``LocalBackend`` with ``put`` /
``put_text`` going through :func:`atomic_write`, registered as the file
backend ``'atomic_local'`` (``backend_args=dict(backend='atomic_local')``);
:class:`~meid_mmaction.engine.hooks.StageCheckpointHook` uses it for local
work dirs.
"""

import os
import os.path as osp
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

#: temporary files are ``.<name>.tmp-<pid>`` next to the destination
TMP_INFIX = '.tmp-'


def tmp_name(filepath: str) -> str:
    """The temporary name :func:`atomic_write` uses for ``filepath``."""
    folder, name = osp.split(filepath)
    return osp.join(folder, f'.{name}{TMP_INFIX}{os.getpid()}')


def is_tmp_name(name: str) -> bool:
    """Whether a base name is one of :func:`tmp_name`'s."""
    return name.startswith('.') and TMP_INFIX in name


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder or '.', os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows: no directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems without dir fsync
        pass
    finally:
        os.close(fd)


def atomic_write(filepath: str, data: Union[bytes, str]) -> None:
    """Write ``data`` to ``filepath`` so that a crash at any moment leaves
    either the old file or the complete new one.

    Args:
        filepath (str): Destination; its directory is created if missing.
        data (bytes | str): Contents (``str`` is written as UTF-8).
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode('utf-8')
    tmp = tmp_name(filepath)
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose writes are atomic
    (:func:`atomic_write`)."""

    def put(self, obj: bytes, filepath) -> None:
        """Write bytes ``obj`` to ``filepath`` atomically."""
        atomic_write(str(filepath), obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        """Write text ``obj`` to ``filepath`` atomically."""
        atomic_write(str(filepath), obj.encode(encoding))
