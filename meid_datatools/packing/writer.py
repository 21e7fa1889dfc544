"""Write packed feature stores: :class:`PackedStoreWriter`.

The format and its reader are :mod:`meid_mmaction.datasets.packed_store`.
The writer appends videos one after the other into the current shard,
starting a new one when the shard would exceed ``shard_bytes``. Progress
goes to an append-only log after the shard data is flushed to disk, so a
killed run resumes where its last commit ended.
"""

import hashlib
import json
import os
import os.path as osp
import struct
from typing import Dict, Iterable, List, Optional

import numpy as np

from meid_mmaction.datasets.packed_store import (
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_BYTES,
    INDEX_FILE,
    LOG_FILE,
    STATE_FILE,
    check_dtype,
    is_packed_store,
    load_index,
    load_json_object,
    shard_name,
)

DEFAULT_SHARD_BYTES = 4 << 30
_MAGIC = b'\x93NUMPY\x01\x00'
_HASH_CHUNK = 16 << 20


def _npy_header(dtype: np.dtype, rows: int, dim: int) -> bytes:
    """A .npy v1.0 header of exactly ``HEADER_BYTES`` bytes."""
    text = (
        f"{{'descr': '{dtype.str}', 'fortran_order': False, "
        f"'shape': ({rows}, {dim}), }}"
    )
    hlen = HEADER_BYTES - len(_MAGIC) - 2
    if len(text) + 1 > hlen:
        raise ValueError(
            f'shard shape ({rows}, {dim}) too large for the fixed-size header'
        )
    body = (text.ljust(hlen - 1) + '\n').encode('latin1')
    return _MAGIC + struct.pack('<H', hlen) + body


def file_sha256(path: str) -> str:
    """Hex sha256 of a whole file, read in chunks."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(_HASH_CHUNK)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def _atomic_write_json(path: str, obj) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class PackedStoreWriter:
    """Append ``[T, D]`` arrays into a packed store; resumable.

    Opening a directory that holds an unfinished run (``pack_state.json``)
    or a finished store continues it: videos already written are reported by
    :meth:`has` and new ones are appended. Call :meth:`close` to write the
    index (use the writer as a context manager).

    Args:
        root (str): Output directory (created if missing).
        dtype (str): ``'float32'`` or ``'float16'``.
        shard_bytes (int): Size limit of a shard's data. A video is never
            split; one larger than the limit gets a shard of its own.
        commit_every (int): Make progress durable every this many videos.
    """

    def __init__(
        self,
        root: str,
        dtype: str = 'float32',
        shard_bytes: int = DEFAULT_SHARD_BYTES,
        commit_every: int = 256,
    ) -> None:
        self.dtype = check_dtype(dtype)
        if shard_bytes <= 0:
            raise ValueError(f'shard_bytes must be > 0, got {shard_bytes}')
        if commit_every <= 0:
            raise ValueError(f'commit_every must be > 0, got {commit_every}')
        self.root = root
        self.shard_bytes = int(shard_bytes)
        self.commit_every = commit_every
        self.dim: Optional[int] = None
        self.shards: List[dict] = []
        self.videos: Dict[str, list] = {}
        self._pending: List[str] = []
        self._file = None
        self._closed = False
        os.makedirs(root, exist_ok=True)
        self._resume()

    # ---------------------------------------------------------------- state
    def _path(self, name: str) -> str:
        return osp.join(self.root, name)

    def _resume(self) -> None:
        if is_packed_store(self.root):
            index = load_index(self.root)
            self._check_settings(index['dtype'], self._path(INDEX_FILE))
            self.dim = int(index['dim'])
            self.shards = index['shards']
            self.videos = index['videos']
        state_path = self._path(STATE_FILE)
        if osp.isfile(state_path):
            state = load_json_object(state_path)
            if state.get('format') != FORMAT_NAME:
                raise ValueError(
                    f'{state_path}: not a packing state file '
                    f'(format {state.get("format")!r})'
                )
            self._check_settings(state.get('dtype'), state_path)
            if state.get('dim') is not None:
                self.dim = int(state['dim'])
        elif not self.shards:
            stray = sorted(
                n
                for n in os.listdir(self.root)
                if n.startswith('shard_') or n in (LOG_FILE,)
            )
            if stray:
                raise ValueError(
                    f'{self.root}: holds {stray[:3]} but neither '
                    f'{INDEX_FILE} nor {STATE_FILE}; refusing to write '
                    'into it (use an empty output directory)'
                )
        self._write_state()
        log_path = self._path(LOG_FILE)
        if osp.isfile(log_path):
            self._replay(log_path)

    def _check_settings(self, dtype, path: str) -> None:
        if np.dtype(dtype).name != self.dtype.name:
            raise ValueError(
                f'{path}: the existing store has dtype {dtype!r}, this run '
                f'asks for {self.dtype.name!r}; use another output '
                'directory or the same --dtype'
            )

    def _write_state(self) -> None:
        _atomic_write_json(
            self._path(STATE_FILE),
            dict(
                format=FORMAT_NAME,
                version=FORMAT_VERSION,
                dtype=self.dtype.name,
                dim=self.dim,
                shard_bytes=self.shard_bytes,
            ),
        )

    def _replay(self, log_path: str) -> None:
        with open(log_path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        # The last line may be cut by a crash; anything after it is lost
        # anyway because the log is only appended after the data is synced.
        for lineno, line in enumerate(lines, start=1):
            if not line:
                continue
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                if lineno >= len(lines) - 1:
                    break
                raise ValueError(
                    f'{log_path}:{lineno}: corrupt log line {line[:80]!r}'
                ) from None
            if 'v' in ev:
                shard, start, length = ev['s'], ev['o'], ev['n']
                while len(self.shards) <= shard:
                    self.shards.append(
                        dict(
                            file=shard_name(len(self.shards)),
                            rows=0,
                            sha256=None,
                        )
                    )
                info = self.shards[shard]
                if info['sha256'] is None:
                    info['rows'] = max(info['rows'], start + length)
                self.videos[ev['v']] = [shard, start, length]
            elif 'close' in ev:
                info = self.shards[ev['close']]
                info['rows'], info['sha256'] = ev['rows'], ev['sha256']
            else:
                raise ValueError(
                    f'{log_path}:{lineno}: unknown event {line[:80]!r}'
                )

    # --------------------------------------------------------------- shards
    def _open_shard(self) -> None:
        """Open the last unclosed shard (truncated to committed rows)."""
        if self.shards and self.shards[-1]['sha256'] is None:
            idx = len(self.shards) - 1
            rows = self.shards[-1]['rows']
            path = self._path(self.shards[-1]['file'])
            self._file = open(path, 'r+b')
            self._file.truncate(HEADER_BYTES + rows * self._row_bytes)
        else:
            idx = len(self.shards)
            self.shards.append(dict(file=shard_name(idx), rows=0, sha256=None))
            path = self._path(self.shards[-1]['file'])
            self._file = open(path, 'w+b')
            self._file.write(_npy_header(self.dtype, 0, self.dim))
        self._file_idx = idx

    def _close_shard(self) -> None:
        self.commit()
        info = self.shards[self._file_idx]
        f = self._file
        f.seek(0)
        f.write(_npy_header(self.dtype, info['rows'], self.dim))
        f.truncate(HEADER_BYTES + info['rows'] * self._row_bytes)
        f.flush()
        os.fsync(f.fileno())
        f.close()
        self._file = None
        info['sha256'] = file_sha256(self._path(info['file']))
        self._log(
            [
                dict(
                    close=self._file_idx,
                    rows=info['rows'],
                    sha256=info['sha256'],
                )
            ]
        )

    @property
    def _row_bytes(self) -> int:
        return self.dim * self.dtype.itemsize

    def _log(self, events: Iterable[dict]) -> None:
        with open(self._path(LOG_FILE), 'a', encoding='utf-8') as f:
            for ev in events:
                f.write(json.dumps(ev, separators=(',', ':')) + '\n')
            f.flush()
            os.fsync(f.fileno())

    # ------------------------------------------------------------------ API
    def has(self, video_id: str) -> bool:
        """Whether ``video_id`` is already written (this or earlier run)."""
        return video_id in self.videos

    def append(
        self, video_id: str, array: np.ndarray, source: Optional[str] = None
    ) -> None:
        """Write the ``[T, D]`` features of ``video_id``.

        Args:
            video_id (str): Id (must not be in the store yet).
            array (np.ndarray): ``[T, D]`` real numbers, all finite.
            source (str, optional): Where ``array`` came from, for messages.
        """
        if self._closed:
            raise ValueError(f'writer of {self.root} is already closed')
        where = source or f'video {video_id!r}'
        if (
            not isinstance(video_id, str)
            or not video_id
            or any(c.isspace() for c in video_id)
        ):
            raise ValueError(
                f'{where}: video id must be a non-empty string '
                f'without whitespace, got {video_id!r}'
            )
        if video_id in self.videos:
            raise ValueError(
                f'{where}: video {video_id!r} is already in '
                f'the packed store {self.root}'
            )
        arr = validate_features(array, where, self.dim)
        with np.errstate(over='ignore'):  # overflow is checked just below
            cast = np.ascontiguousarray(arr, dtype=self.dtype)
        if self.dtype != arr.dtype and not np.isfinite(cast).all():
            raise ValueError(
                f'{where}: values exceed the {self.dtype.name} range (max '
                f'{np.finfo(self.dtype).max}) after the cast; pack with '
                '--dtype float32'
            )
        if self.dim is None:
            self.dim = int(arr.shape[1])
            self._write_state()
        if self._file is None:
            self._open_shard()
        info = self.shards[self._file_idx]
        length = int(arr.shape[0])
        limit_rows = max(1, self.shard_bytes // self._row_bytes)
        if info['rows'] > 0 and info['rows'] + length > limit_rows:
            self._close_shard()
            self._open_shard()
            info = self.shards[self._file_idx]
        start = info['rows']
        self._file.seek(HEADER_BYTES + start * self._row_bytes)
        self._file.write(cast.tobytes())
        info['rows'] = start + length
        self.videos[video_id] = [self._file_idx, start, length]
        self._pending.append(video_id)
        if len(self._pending) >= self.commit_every:
            self.commit()

    def commit(self) -> None:
        """Sync the shard data, then log the videos written since."""
        if not self._pending:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        events = []
        for vid in self._pending:
            shard, start, length = self.videos[vid]
            events.append(dict(v=vid, s=shard, o=start, n=length))
        self._log(events)
        self._pending = []

    def close(self) -> dict:
        """Close the last shard and write the index; returns the index."""
        if self._closed:
            raise ValueError(f'writer of {self.root} is already closed')
        if self._file is not None:
            self._close_shard()
        elif self.shards and self.shards[-1]['sha256'] is None:
            # Resumed run that appended nothing: finish the open shard.
            self._open_shard()
            self._close_shard()
        if self.dim is None:
            raise ValueError(
                f'{self.root}: no video was written; refusing '
                'to write an empty packed store'
            )
        index = dict(
            format=FORMAT_NAME,
            version=FORMAT_VERSION,
            dtype=self.dtype.name,
            dim=self.dim,
            shard_bytes=self.shard_bytes,
            shards=self.shards,
            videos=self.videos,
        )
        _atomic_write_json(self._path(INDEX_FILE), index)
        for name in (LOG_FILE, STATE_FILE):
            if osp.isfile(self._path(name)):
                os.remove(self._path(name))
        self._closed = True
        return index

    def abort(self) -> None:
        """Make the progress durable and stop (no index is written)."""
        if self._file is not None:
            self.commit()
            self._file.close()
            self._file = None
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def validate_features(
    array, where: str, dim: Optional[int] = None
) -> np.ndarray:
    """Check a ``[T, D]`` feature array; errors name ``where``."""
    arr = np.asarray(array)
    if arr.ndim != 2:
        raise ValueError(
            f'{where}: features must be [T, D] (rank 2), got shape {arr.shape}'
        )
    if arr.dtype.kind not in 'fiu':
        raise ValueError(
            f'{where}: features must be real numbers, got dtype {arr.dtype}'
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f'{where}: empty features, shape {arr.shape}')
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(
            f'{where}: feature dim {arr.shape[1]} differs '
            f'from the store dim {dim}'
        )
    if arr.dtype.kind == 'f':
        bad = ~np.isfinite(arr)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                f'{where}: {int(bad.sum())} non-finite values (first at '
                f'row {row}, column {col}: {arr[row, col]})'
            )
    return arr
