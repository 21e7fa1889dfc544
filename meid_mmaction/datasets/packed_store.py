"""Packed, memory-mappable feature store: the format and its reader.

Layout of a packed store directory ``root``::

    root/
      packed_index.json    the index (written last, atomically; its presence
                           marks a finished store)
      shard_00000.npy      [rows, D] float32 or float16, a plain .npy file
      shard_00001.npy      ...
      pack_state.json      } only while a packing run is unfinished
      pack_log.jsonl       } (resume information)

``packed_index.json`` holds the dtype, the feature dim ``D``, one entry per
shard (file name, number of rows, sha256 of the whole file) and, for every
video, ``[shard, first row, number of rows]``. A video's ``[T, D]`` array is
the row slice ``shard[first row:first row + T]``. Every shard starts with a
fixed-size (``HEADER_BYTES``) .npy version 1.0 header.

:class:`PackedFeatureStore` reads a finished store, opening each shard as a
read-only memmap the first time it is needed (per process: DataLoader
workers reopen their own maps after fork). Writing, packing and verifying a
store are data tools: :mod:`meid_datatools.packing`
(``tools/data/pack_features.py``).
"""

import json
import os
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np

INDEX_FILE = 'packed_index.json'
STATE_FILE = 'pack_state.json'
LOG_FILE = 'pack_log.jsonl'
FORMAT_NAME = 'meid_packed_features'
FORMAT_VERSION = 1
SUPPORTED_DTYPES = ('float32', 'float16')
#: Size of the fixed .npy (version 1.0) header every shard starts with, so
#: that the writer can patch the row count in place when a shard is closed.
HEADER_BYTES = 128


def shard_name(index: int) -> str:
    """File name of shard ``index`` (``shard_00000.npy``)."""
    return f'shard_{index:05d}.npy'


def is_packed_store(root: str) -> bool:
    """Whether ``root`` holds a finished packed store (its index file)."""
    return osp.isfile(osp.join(root, INDEX_FILE))


def check_dtype(dtype) -> np.dtype:
    """The little-endian store dtype of ``dtype``.

    Raises:
        ValueError: If ``dtype`` is not one of ``SUPPORTED_DTYPES``.
    """
    name = np.dtype(dtype).name if dtype is not None else None
    if name not in SUPPORTED_DTYPES:
        raise ValueError(
            f'packed store dtype must be one of '
            f'{SUPPORTED_DTYPES}, got {dtype!r}'
        )
    return np.dtype(name).newbyteorder('<')


def load_json_object(path: str) -> dict:
    """Read a JSON file holding an object; errors name ``path``."""
    try:
        with open(path, encoding='utf-8') as f:
            obj = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: not valid JSON ({e})') from None
    if not isinstance(obj, dict):
        raise ValueError(
            f'{path}: expected a JSON object, got {type(obj).__name__}'
        )
    return obj


def load_index(root: str) -> dict:
    """Read and check ``<root>/packed_index.json``.

    Returns:
        dict: keys ``dtype`` (str), ``dim`` (int), ``shard_bytes`` (int),
        ``shards`` (list of dicts ``file``/``rows``/``sha256``) and
        ``videos`` (dict id -> ``[shard, start, length]``).
    """
    path = osp.join(root, INDEX_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'packed store index not found: {path}')
    index = load_json_object(path)
    if index.get('format') != FORMAT_NAME:
        raise ValueError(
            f'{path}: "format" must be {FORMAT_NAME!r}, got '
            f'{index.get("format")!r}'
        )
    if index.get('version') != FORMAT_VERSION:
        raise ValueError(
            f'{path}: unsupported version '
            f'{index.get("version")!r} (expected '
            f'{FORMAT_VERSION})'
        )
    for key in ('dtype', 'dim', 'shards', 'videos'):
        if key not in index:
            raise ValueError(f'{path}: missing key {key!r}')
    try:
        check_dtype(index['dtype'])
    except (TypeError, ValueError):
        raise ValueError(
            f'{path}: "dtype" must be one of '
            f'{SUPPORTED_DTYPES}, got {index["dtype"]!r}'
        ) from None
    shards = index['shards']
    for vid, loc in index['videos'].items():
        if (
            not isinstance(loc, list)
            or len(loc) != 3
            or not 0 <= loc[0] < len(shards)
            or loc[1] < 0
            or loc[2] <= 0
            or loc[1] + loc[2] > shards[loc[0]]['rows']
        ):
            raise ValueError(
                f'{path}: bad location {loc!r} of video '
                f'{vid!r} (expected [shard, start, length] '
                f'inside one of the {len(shards)} shards)'
            )
    return index


class PackedFeatureStore:
    """Read a packed store: ``open(video_id)`` gives a ``[T, D]`` memmap.

    Only the index is read at construction. Each shard is memory-mapped the
    first time one of its videos is opened, once per process; the maps are
    not pickled, so a store handed to forked DataLoader workers reopens its
    shards there.

    Args:
        root (str): Directory with ``packed_index.json`` and the shards.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        index = load_index(root)
        self.dtype = np.dtype(index['dtype'])
        self.dim = int(index['dim'])
        self._shards: List[dict] = index['shards']
        self._videos: Dict[str, list] = index['videos']
        self._maps: Dict[int, np.ndarray] = {}
        self._pid = os.getpid()

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_maps'] = {}
        return state

    def __len__(self) -> int:
        """Number of stored videos."""
        return len(self._videos)

    def __contains__(self, video_id: str) -> bool:
        """Whether ``video_id`` is stored."""
        return video_id in self._videos

    @property
    def video_ids(self) -> List[str]:
        """Ids of the stored videos, in index order."""
        return list(self._videos)

    def shard(self, idx: int) -> np.ndarray:
        """Shard ``idx`` as a read-only ``[rows, D]`` memmap.

        Raises:
            FileNotFoundError: If the shard file is missing.
            ValueError: If its shape or dtype differs from the index.
        """
        return self._shard(idx)

    def _shard(self, idx: int) -> np.ndarray:
        if self._pid != os.getpid():
            self._maps = {}
            self._pid = os.getpid()
        arr = self._maps.get(idx)
        if arr is None:
            info = self._shards[idx]
            path = osp.join(self.root, info['file'])
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'shard {idx} of packed store {self.root} not found: '
                    f'{path}'
                )
            arr = np.load(path, mmap_mode='r', allow_pickle=False)
            expected = (info['rows'], self.dim)
            if arr.shape != expected or arr.dtype != self.dtype:
                raise ValueError(
                    f'{path}: shard has shape {arr.shape} dtype {arr.dtype}, '
                    f'the index expects {expected} {self.dtype} '
                    '(unfinished or modified store; run pack_features.py '
                    '--verify-only)'
                )
            self._maps[idx] = arr
        return arr

    def _locate(self, video_id: str) -> list:
        loc = self._videos.get(video_id)
        if loc is None:
            raise FileNotFoundError(
                f'video {video_id!r} is not in the packed feature store '
                f'{self.root} ({osp.join(self.root, INDEX_FILE)} lists '
                f'{len(self._videos)} videos)'
            )
        return loc

    def location(self, video_id: str) -> str:
        """``<shard path>[start:end]`` of the video, for messages."""
        shard, start, length = self._locate(video_id)
        path = osp.join(self.root, self._shards[shard]['file'])
        return f'{path}[{start}:{start + length}] (video {video_id})'

    def open(self, video_id: str) -> np.ndarray:
        """Rows of ``video_id``: a ``[T, D]`` memmap slice, nothing read."""
        shard, start, length = self._locate(video_id)
        return self._shard(shard)[start : start + length]

    def read_frames(
        self, video_ids: Sequence[str], frame_inds: np.ndarray
    ) -> np.ndarray:
        """Frames ``frame_inds[b]`` of each video ``video_ids[b]`` at once.

        One fancy-indexed read per shard over the batch's distinct rows in
        increasing order (sequential on disk), instead of one read per
        video; equal to ``open(v)[f]`` for every ``(v, f)``.

        Args:
            video_ids (Sequence[str]): ``B`` video ids.
            frame_inds (np.ndarray): ``[B, F]`` frame indices per video.

        Returns:
            np.ndarray: ``[B, F, D]`` in the store's dtype.
        """
        frame_inds = np.asarray(frame_inds, dtype=np.int64)
        if frame_inds.ndim != 2 or frame_inds.shape[0] != len(video_ids):
            raise ValueError(
                f'frame_inds must be [{len(video_ids)}, F], got '
                f'shape {frame_inds.shape}'
            )
        num, width = frame_inds.shape
        locs = np.array(
            [self._locate(v) for v in video_ids], dtype=np.int64
        ).reshape(-1, 3)
        bad = (frame_inds < 0) | (frame_inds >= locs[:, 2:3])
        if bad.any():
            b = int(np.nonzero(bad.any(axis=1))[0][0])
            raise IndexError(
                f'{self.location(video_ids[b])}: frames '
                f'{frame_inds[b][bad[b]][:10].tolist()} outside [0, '
                f'{locs[b, 2]})'
            )
        rows = (locs[:, 1:2] + frame_inds).reshape(-1)
        shards = np.repeat(locs[:, 0], width)
        out = np.empty((num * width, self.dim), dtype=self.dtype)
        for shard in np.unique(shards):
            sel = np.nonzero(shards == shard)[0]
            wanted, inverse = np.unique(rows[sel], return_inverse=True)
            out[sel] = self.shard(int(shard))[wanted][inverse]
        return out.reshape(num, width, self.dim)
