"""The extraction run: :func:`extract_features`.

Decodes videos in DataLoader workers (:mod:`.video`), passes their frames
through the backbone (:mod:`.backbone`) and writes ``.npy`` files or a
packed store; resumable, with a JSON report of the unreadable videos.
"""

import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from meid_mmaction.utils.progress import Progress

from ..packing import PackedStoreWriter, validate_features
from .backbone import FrameExtractor
from .video import _VideoDataset

REPORT_FILE = 'extract_report.json'


def _save_npy_atomic(path: str, array: np.ndarray) -> None:
    tmp = f'{path}.tmp{os.getpid()}.npy'
    np.save(tmp, array)
    os.replace(tmp, path)


def extract_features(
    pairs: Sequence[Tuple[str, str]],
    out_dir: str,
    extractor: FrameExtractor,
    num_frames: int = 150,
    short_side: int = 256,
    crop_size: int = 224,
    out_format: str = 'npy',
    dtype: str = 'float32',
    batch_videos: int = 4,
    workers: int = 2,
    backend: str = 'auto',
    report_path: Optional[str] = None,
    progress: bool = True,
    extra_report: Optional[dict] = None,
) -> dict:
    """Extract ``[num_frames, D]`` features of every video into ``out_dir``.

    Videos already done (``<out>/<id>.npy`` exists, or the id is in the
    packed store) are skipped. Unreadable videos are skipped and listed.
    Frames of ``batch_videos`` whole videos go through the backbone at once
    (``[batch_videos * K, 3, crop, crop]``).

    Returns:
        dict: the report, also written to ``report_path`` (default
        ``<out_dir>/extract_report.json``): counts ``total``, ``extracted``,
        ``skipped_done``, ``failed`` (list of ``video_id``/``path``/
        ``error``) and the settings.
    """
    _check_options(out_format, dtype, batch_videos)
    os.makedirs(out_dir, exist_ok=True)
    report_path = report_path or osp.join(out_dir, REPORT_FILE)
    writer = None
    if out_format == 'packed':
        writer = PackedStoreWriter(out_dir, dtype=dtype)
        done = writer.has
    else:

        def done(vid):
            return osp.isfile(osp.join(out_dir, f'{vid}.npy'))

    todo = [p for p in pairs if not done(p[0])]
    report = dict(
        total=len(pairs),
        extracted=0,
        skipped_done=len(pairs) - len(todo),
        failed=[],
        backends={},
        out_dir=out_dir,
        out_format=out_format,
        dtype=dtype,
        num_frames=num_frames,
        short_side=short_side,
        crop_size=crop_size,
        **(extra_report or {}),
    )
    loader = torch.utils.data.DataLoader(
        _VideoDataset(todo, num_frames, short_side, crop_size, backend),
        batch_size=batch_videos,
        num_workers=workers,
        shuffle=False,
        collate_fn=list,
    )
    bar = (
        Progress(len(todo), label='videos', stream=sys.stdout)
        if progress and todo
        else None
    )
    start = time.time()
    try:
        for batch in loader:
            _extract_batch(
                batch, extractor, num_frames, dtype, out_dir, writer, report
            )
            if bar is not None:
                for _ in batch:
                    bar.update()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        report['seconds'] = round(time.time() - start, 3)
        _write_report(report_path, report)
    if bar is not None:  # end the progress line
        bar.close()
    if writer is not None:
        if writer.videos:
            writer.close()
        else:  # nothing could be extracted: no store to write
            writer.abort()
    _write_report(report_path, report)
    return report


def _check_options(out_format: str, dtype: str, batch_videos: int) -> None:
    """Raise ``ValueError`` naming a bad option of :func:`extract_features`."""
    if out_format not in ('npy', 'packed'):
        raise ValueError(
            f"out_format must be 'npy' or 'packed', got {out_format!r}"
        )
    if dtype not in ('float32', 'float16'):
        raise ValueError(
            f"dtype must be 'float32' or 'float16', got {dtype!r}"
        )
    if batch_videos <= 0:
        raise ValueError(f'batch_videos must be > 0, got {batch_videos}')


def _extract_batch(
    batch: List[dict],
    extractor: FrameExtractor,
    num_frames: int,
    dtype: str,
    out_dir: str,
    writer: Optional[PackedStoreWriter],
    report: dict,
) -> None:
    """Features of the decodable videos of ``batch``, written out; failures
    and counts go to ``report``."""
    good = [b for b in batch if b['error'] is None]
    for b in batch:
        if b['error'] is not None:
            report['failed'].append(
                dict(video_id=b['video_id'], path=b['path'], error=b['error'])
            )
    if not good:
        return
    feats = extractor(np.concatenate([b['frames'] for b in good]))
    feats = feats.reshape(len(good), num_frames, -1)
    for b, f in zip(good, feats):
        f = validate_features(f.astype(dtype), b['path'])
        if writer is not None:
            writer.append(b['video_id'], f, b['path'])
        else:
            _save_npy_atomic(osp.join(out_dir, f'{b["video_id"]}.npy'), f)
        report['backends'][b['backend']] = (
            report['backends'].get(b['backend'], 0) + 1
        )
        report['extracted'] += 1


def _write_report(path: str, report: Dict) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, path)
