"""Find and decode videos for feature extraction.

``K`` frames sampled uniformly (the centre of each of ``K`` equal
segments), decoded with decord (OpenCV as fallback), resized (shorter side)
and centre-cropped as MMAction2's test pipeline does.
"""

import os
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from meid_mmaction.datasets.annotations import parse_label_list
from meid_mmaction.datasets.transforms.sampling import uniform_frame_indices

VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.flv')


def _read_decord(path: str, num_frames: int) -> np.ndarray:
    """MMAction2's ``DecordInit`` + ``DecordDecode`` at uniform indices."""
    from mmaction.datasets.transforms import DecordDecode, DecordInit

    results = DecordInit(num_threads=1).transform(dict(filename=path))
    results['frame_inds'] = uniform_frame_indices(
        results['total_frames'], num_frames
    )
    return np.stack(DecordDecode().transform(results)['imgs'])


def _read_opencv(path: str, num_frames: int) -> np.ndarray:
    """OpenCV fallback with exact frame positions.

    MMAction2's ``OpenCVDecode`` is not used here: it seeks (inexact frame
    positions in many codecs) and silently replaces a frame it cannot
    decode by an earlier one, while this reader decodes sequentially, counts
    the frames when the container does not say, and fails loudly.
    """
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise ValueError('OpenCV cannot open the file')
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if total <= 0:  # count not in the container: decode to count
            total = 0
            while cap.grab():
                total += 1
            cap.release()
            cap = cv2.VideoCapture(path)
        inds = uniform_frame_indices(total, num_frames)
        wanted = {}
        for k, i in enumerate(inds.tolist()):
            wanted.setdefault(i, []).append(k)
        frames: List[Optional[np.ndarray]] = [None] * num_frames
        last = int(inds.max())
        # Sequential decoding: exact frame positions, unlike seeking.
        for i in range(last + 1):
            if not cap.grab():
                raise ValueError(
                    f'decoding stopped at frame {i} of '
                    f'{total} (needed frame {last})'
                )
            if i in wanted:
                ok, bgr = cap.retrieve()
                if not ok:
                    raise ValueError(f'cannot decode frame {i}')
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                for k in wanted[i]:
                    frames[k] = rgb
        return np.stack(frames)
    finally:
        cap.release()


def read_video_frames(
    path: str, num_frames: int, backend: str = 'auto'
) -> Tuple[np.ndarray, str]:
    """Decode ``num_frames`` uniformly sampled RGB frames.

    Args:
        path (str): Video file.
        num_frames (int): ``K``.
        backend (str): ``'decord'``, ``'opencv'`` or ``'auto'`` (decord,
            then OpenCV if decord is missing or fails on the file).

    Returns:
        tuple: ``(frames, backend used)``, frames ``[K, H, W, 3]`` uint8.
    """
    if backend not in ('auto', 'decord', 'opencv'):
        raise ValueError(
            f"backend must be 'auto', 'decord' or 'opencv', got {backend!r}"
        )
    if not osp.isfile(path):
        raise FileNotFoundError(f'video not found: {path}')
    errors = []
    if backend in ('auto', 'decord'):
        try:
            return _read_decord(path, num_frames), 'decord'
        except Exception as e:  # decord raises its own error types
            if backend == 'decord':
                raise ValueError(f'{path}: decord: {_short(e)}') from None
            errors.append(f'decord: {_short(e)}')
    try:
        return _read_opencv(path, num_frames), 'opencv'
    except Exception as e:
        errors.append(f'opencv: {_short(e)}')
    raise ValueError(f'{path}: cannot read the video ({"; ".join(errors)})')


def _short(err: Exception) -> str:
    text = ' '.join(str(err).split())
    return (text[:300] + '...') if len(text) > 300 else text


def resize_crop(
    frames: np.ndarray, short_side: int, crop_size: int
) -> np.ndarray:
    """MMAction2's test-time ``Resize(scale=(-1, short_side))`` (bilinear,
    shorter side to ``short_side``) and ``CenterCrop(crop_size)``:
    ``[K, H, W, 3]`` -> ``[K, crop_size, crop_size, 3]``."""
    from mmaction.datasets.transforms import CenterCrop, Resize

    if short_side < crop_size:
        raise ValueError(
            f'short_side ({short_side}) must be >= crop_size ({crop_size})'
        )
    results = dict(imgs=list(frames), img_shape=frames.shape[1:3])
    results = Resize(
        scale=(-1, short_side), interpolation='bilinear'
    ).transform(results)
    results = CenterCrop(crop_size).transform(results)
    return np.stack(results['imgs'])


def find_videos(
    video_dir: str,
    ann_files: Optional[Sequence[str]] = None,
    suffix: Optional[str] = None,
) -> List[Tuple[str, str]]:
    """``(video id, path)`` pairs.

    Without ``ann_files``: every file in ``video_dir`` with a video
    extension (or ``suffix``), id = file name without the extension.
    With them: their ids in order, each found as ``<video_dir>/<id><ext>``
    (``suffix`` or the first existing of the known extensions); ids without
    a file get the path of the first candidate (reported as unreadable).
    """
    if not osp.isdir(video_dir):
        raise FileNotFoundError(f'video directory not found: {video_dir}')
    exts = (suffix,) if suffix else VIDEO_EXTS
    if not ann_files:
        pairs = []
        for name in sorted(os.listdir(video_dir)):
            stem, ext = osp.splitext(name)
            if ext.lower() in exts and osp.isfile(osp.join(video_dir, name)):
                pairs.append((stem, osp.join(video_dir, name)))
        if not pairs:
            raise ValueError(
                f'{video_dir}: no video file (extensions {", ".join(exts)})'
            )
        counts = Counter(p[0] for p in pairs)
        dup = sorted(i for i, n in counts.items() if n > 1)
        if dup:
            raise ValueError(
                f'{video_dir}: several files for video ids '
                f'{dup[:5]}; pass --suffix'
            )
        return pairs
    pairs, seen = [], set()
    for ann in ann_files:
        if not osp.isfile(ann):
            raise FileNotFoundError(f'annotation file not found: {ann}')
        for vid in parse_label_list(ann)[0]:
            if vid in seen:
                continue
            seen.add(vid)
            cands = [osp.join(video_dir, vid + e) for e in exts]
            path = next((c for c in cands if osp.isfile(c)), cands[0])
            pairs.append((vid, path))
    return pairs


class _VideoDataset(torch.utils.data.Dataset):
    """Decodes and crops in DataLoader workers; errors are returned."""

    def __init__(self, pairs, num_frames, short_side, crop_size, backend):
        self.pairs = pairs
        self.num_frames = num_frames
        self.short_side = short_side
        self.crop_size = crop_size
        self.backend = backend

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        vid, path = self.pairs[i]
        try:
            frames, used = read_video_frames(
                path, self.num_frames, self.backend
            )
            frames = resize_crop(frames, self.short_side, self.crop_size)
            return dict(
                video_id=vid,
                path=path,
                frames=frames,
                backend=used,
                error=None,
            )
        except Exception as e:
            return dict(
                video_id=vid,
                path=path,
                frames=None,
                backend=None,
                error=_short(e),
            )
