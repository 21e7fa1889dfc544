"""Pack per-video ``.npy`` files into a packed store, and verify stores.

:func:`pack_features` converts a directory of per-video ``.npy`` files
(through :class:`~meid_datatools.packing.writer.PackedStoreWriter`) and
:func:`verify_packed_store` re-hashes shards and optionally compares the
values with the sources.
"""

import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from meid_mmaction.datasets.annotations import parse_label_list
from meid_mmaction.datasets.packed_store import (
    HEADER_BYTES,
    PackedFeatureStore,
    load_index,
)
from meid_mmaction.utils.progress import Progress

from .writer import DEFAULT_SHARD_BYTES, PackedStoreWriter, file_sha256


def list_source_ids(
    src_dir: str, ann_files: Optional[Sequence[str]] = None
) -> List[str]:
    """Video ids to pack: from ``ann_files`` (in order) or every ``.npy``.

    The ids of several list files are concatenated without duplicates.
    """
    if not osp.isdir(src_dir):
        raise FileNotFoundError(
            f'source feature directory not found: {src_dir}'
        )
    if not ann_files:
        ids = sorted(
            n[:-4]
            for n in os.listdir(src_dir)
            if n.endswith('.npy') and osp.isfile(osp.join(src_dir, n))
        )
        if not ids:
            raise ValueError(f'{src_dir}: no .npy file to pack')
        return ids
    ids: List[str] = []
    seen = set()
    for ann in ann_files:
        if not osp.isfile(ann):
            raise FileNotFoundError(f'annotation file not found: {ann}')
        for vid in parse_label_list(ann)[0]:
            if vid not in seen:
                seen.add(vid)
                ids.append(vid)
    return ids


def _refuse(problems: List[Tuple[str, str]], what: str) -> None:
    """Raise one error listing every bad source file.

    ``FileNotFoundError`` when every problem is a missing file, else
    ``ValueError``.
    """
    lines = '\n'.join(f'  {msg}' for _, msg in problems)
    text = f'{len(problems)} bad source feature file(s); {what}:\n{lines}'
    if all(kind == 'missing' for kind, _ in problems):
        raise FileNotFoundError(text)
    raise ValueError(text)


def scan_sources(
    src_dir: str, video_ids: Sequence[str]
) -> Tuple[int, Dict[str, Tuple[int, int]]]:
    """Check the headers of ``<src_dir>/<id>.npy`` (nothing else is read).

    Every file is checked; the error (raised after the scan) lists every
    missing or malformed file, like ``tools/data/check_dataset.py``.

    Returns:
        tuple: ``(dim, shapes)`` with ``shapes[id] = (T, D)``.

    Raises:
        FileNotFoundError: Every problem is a missing file.
        ValueError: Some file is unreadable, not ``[T, D]`` real numbers
            with ``T, D > 0``, or has another ``D`` than the first file.
    """
    dim = None
    first = None
    shapes = {}
    problems: List[Tuple[str, str]] = []
    for vid in video_ids:
        path = osp.join(src_dir, f'{vid}.npy')
        if not osp.isfile(path):
            problems.append(
                ('missing', f'feature file of video {vid!r} not found: {path}')
            )
            continue
        try:
            arr = np.load(path, mmap_mode='r', allow_pickle=False)
        except ValueError as e:
            problems.append(
                ('unreadable', f'{path}: cannot read as a .npy array: {e}')
            )
            continue
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            problems.append(
                (
                    'shape',
                    f'{path}: features must be [T, D] '
                    f'with T, D > 0, got shape {arr.shape}',
                )
            )
        elif arr.dtype.kind not in 'fiu':
            problems.append(
                (
                    'dtype',
                    f'{path}: features must be real '
                    f'numbers, got dtype {arr.dtype}',
                )
            )
        elif dim is None:
            dim, first = arr.shape[1], path
            shapes[vid] = arr.shape
        elif arr.shape[1] != dim:
            problems.append(
                (
                    'dim',
                    f'{path}: feature dim {arr.shape[1]} '
                    f'differs from {dim} of {first}',
                )
            )
        else:
            shapes[vid] = arr.shape
        del arr
    if problems:
        _refuse(problems, 'nothing was written')
    return dim, shapes


def pack_features(
    src_dir: str,
    out_dir: str,
    video_ids: Optional[Sequence[str]] = None,
    dtype: str = 'float32',
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    progress: bool = False,
) -> dict:
    """Pack ``<src_dir>/<id>.npy`` files into a packed store at ``out_dir``.

    Resumable: videos already in ``out_dir`` (finished or interrupted run
    with the same dtype) are skipped. All headers are checked before
    anything is written (every bad file is reported at once); values
    (finite, in range of ``dtype``) while writing: a video with bad values
    is not written, the others are, and at the end every bad file is
    reported and no index is written (fix them and run again to resume).

    Returns:
        dict: ``written`` and ``skipped`` counts, ``videos`` and ``shards``
        of the finished store.
    """
    if video_ids is None:
        video_ids = list_source_ids(src_dir)
    scan_sources(src_dir, video_ids)
    writer = PackedStoreWriter(out_dir, dtype=dtype, shard_bytes=shard_bytes)
    todo = [v for v in video_ids if not writer.has(v)]
    bar = (
        Progress(len(todo), label='videos', stream=sys.stdout)
        if progress and todo
        else None
    )
    bad: List[Tuple[str, str]] = []
    with writer:
        for vid in todo:
            path = osp.join(src_dir, f'{vid}.npy')
            try:
                writer.append(vid, np.load(path, allow_pickle=False), path)
            except ValueError as err:
                bad.append(('values', str(err)))
            if bar is not None:
                bar.update()
        if bad:
            _end_progress(bar)
            bar = None
            # leaving the block with an error keeps the progress, no index
            _refuse(
                bad,
                f'the other videos were packed into {out_dir} '
                'without an index; fix the files and run the same '
                'command again to finish',
            )
    _end_progress(bar)
    return dict(
        written=len(todo),
        skipped=len(video_ids) - len(todo),
        videos=len(writer.videos),
        shards=len(writer.shards),
    )


def verify_packed_store(
    root: str,
    source_dir: Optional[str] = None,
    check_hash: bool = True,
    progress: bool = False,
) -> List[str]:
    """Check a packed store; returns the problems found (empty: all good).

    Checks every shard's existence, header (shape, dtype), size and (with
    ``check_hash``) sha256 against the index; with ``source_dir``, also that
    every video equals ``<source_dir>/<id>.npy`` cast to the store dtype.
    """
    problems: List[str] = []
    index = load_index(root)
    store = PackedFeatureStore(root)
    bad_shards = set()
    for i, info in enumerate(index['shards']):
        path = osp.join(root, info['file'])
        if not osp.isfile(path):
            problems.append(f'{path}: shard file missing')
            bad_shards.add(i)
            continue
        try:
            store.shard(i)
        except ValueError as e:
            problems.append(str(e))
            bad_shards.add(i)
            continue
        size = osp.getsize(path)
        expected = (
            HEADER_BYTES + info['rows'] * index['dim'] * store.dtype.itemsize
        )
        if size != expected:
            problems.append(f'{path}: {size} bytes, expected {expected}')
            bad_shards.add(i)
        if check_hash:
            digest = file_sha256(path)
            if digest != info['sha256']:
                problems.append(
                    f'{path}: sha256 {digest} differs from the '
                    f'index ({info["sha256"]})'
                )
    if source_dir is not None:
        vids = [
            v for v, loc in index['videos'].items() if loc[0] not in bad_shards
        ]
        bar = (
            Progress(len(vids), label='videos', stream=sys.stdout)
            if progress and vids
            else None
        )
        for vid in vids:
            src = osp.join(source_dir, f'{vid}.npy')
            if not osp.isfile(src):
                problems.append(f'{src}: source of video {vid!r} missing')
            else:
                ref = np.load(src, allow_pickle=False)
                got = store.open(vid)
                if ref.shape != got.shape:
                    problems.append(
                        f'{store.location(vid)}: shape {got.shape}, source '
                        f'{src} has {ref.shape}'
                    )
                elif not np.array_equal(ref.astype(store.dtype), got):
                    problems.append(
                        f'{store.location(vid)}: values differ from {src} '
                        f'(cast to {store.dtype.name})'
                    )
            if bar is not None:
                bar.update()
        _end_progress(bar)
    return problems


def _end_progress(bar: Optional[Progress]) -> None:
    """End the progress line (on a terminal)."""
    if bar is not None:
        bar.close()
