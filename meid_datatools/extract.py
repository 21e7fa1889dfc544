"""Per-frame features from raw videos with an MMAction2 2D backbone.

For every video: ``K`` frames sampled uniformly (the centre of each of ``K``
equal segments), decoded with decord (OpenCV as fallback), resized (shorter
side) and centre-cropped, normalised with the model's
``data_preprocessor`` mean/std, passed through the backbone, spatially
average-pooled: a ``[K, D]`` float array per video. Output is either one
``<out>/<video id>.npy`` per video or a packed store
(:mod:`meid_datatools.packing`).

The run is resumable (finished videos are skipped), and videos that cannot
be read are skipped and listed in a JSON report, never silently.
The command-line front end is ``tools/data/extract_features.py``.
"""

import json
import os
import os.path as osp
import re
import sys
import time
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from meid_mmaction.datasets.annotations import parse_label_list
from meid_mmaction.datasets.transforms.sampling import uniform_frame_indices
from meid_mmaction.utils.progress import Progress

from .packing import PackedStoreWriter, validate_features

VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.flv')
REPORT_FILE = 'extract_report.json'


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


def normalisation_from_config(cfg, mean=None, std=None, to_rgb=None) -> dict:
    """Mean/std (0-255 scale, per channel) and ``to_rgb`` of the model's
    ``data_preprocessor``; explicit arguments win."""
    pre = cfg.get('model', {}).get('data_preprocessor', None) or {}
    mean = list(mean) if mean is not None else pre.get('mean')
    std = list(std) if std is not None else pre.get('std')
    if to_rgb is None:
        to_rgb = bool(pre.get('to_rgb', False))
    src = getattr(cfg, 'filename', None) or 'the config'
    if mean is None or std is None:
        raise ValueError(
            f'{src}: model.data_preprocessor has no mean/std; '
            'pass --mean and --std (0-255 scale, RGB order)'
        )
    if len(mean) != 3 or len(std) != 3:
        raise ValueError(
            f'mean and std must have 3 values (one per '
            f'channel), got mean={mean}, std={std}'
        )
    if any(s <= 0 for s in std):
        raise ValueError(f'std values must be > 0, got {std}')
    return dict(
        mean=[float(m) for m in mean],
        std=[float(s) for s in std],
        to_rgb=to_rgb,
    )


def build_backbone(
    cfg, checkpoint: Optional[str] = None, random_init: bool = False
) -> torch.nn.Module:
    """Build ``cfg.model.backbone`` and load its weights.

    ``checkpoint`` may be a recognizer checkpoint (``backbone.*`` keys are
    used) or a bare backbone state dict; the keys must match exactly. It is
    read with mmengine's ``CheckpointLoader`` and loaded with mmengine's
    key revision (``revise_keys``: ``module.`` and ``backbone.`` prefixes
    removed) and strict key / shape checks.
    Without a checkpoint, the backbone's own ``pretrained``/``init_cfg`` is
    used if it has one; a backbone with neither needs ``random_init=True``
    (features of a random network are only good for tests).
    """
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    src = getattr(cfg, 'filename', None) or 'the config'
    model_cfg = cfg.get('model', None)
    if not model_cfg or 'backbone' not in model_cfg:
        raise ValueError(
            f'{src}: no model.backbone in the config; expected '
            'a model config with a 2D backbone (e.g. ResNet)'
        )
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    bb_cfg = model_cfg['backbone']
    backbone = MODELS.build(bb_cfg)
    if checkpoint is not None:
        _load_backbone_weights(backbone, checkpoint, src)
    elif bb_cfg.get('pretrained') or bb_cfg.get('init_cfg'):
        backbone.init_weights()
    elif not random_init:
        raise ValueError(
            f'{src}: no --checkpoint and the backbone has no pretrained/'
            'init_cfg: features would come from random weights; pass '
            '--random-init if that is really wanted'
        )
    else:
        backbone.init_weights()
    backbone.eval()  # some backbones' train() does not return self
    return backbone


_REVISE_KEYS = [(r'^module\.', ''), (r'^backbone\.', '')]
_BACKBONE_KEY = re.compile(r'^(module\.)?backbone\.')


def _load_backbone_weights(
    backbone: torch.nn.Module, checkpoint: str, src: str
) -> None:
    """Load a recognizer or bare backbone checkpoint, strictly."""
    from mmengine.runner.checkpoint import (
        CheckpointLoader,
        _load_checkpoint_to_model,
    )

    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if any(_BACKBONE_KEY.match(k) for k in state):
        state = {k: v for k, v in state.items() if _BACKBONE_KEY.match(k)}
    try:
        _load_checkpoint_to_model(
            backbone,
            dict(state_dict=state),
            strict=True,
            logger='silent',
            revise_keys=_REVISE_KEYS,
        )
    except RuntimeError as err:
        text = ' '.join(str(err).split())
        raise ValueError(
            f'{checkpoint}: weights do not match the backbone '
            f'of {src}: {text[:1000]}'
        ) from None


class FrameExtractor:
    """Turn decoded frames into pooled backbone features.

    Args:
        backbone (nn.Module): 2D backbone: ``[N, 3, H, W]`` ->
            ``[N, D, h, w]`` (or a tuple of such maps; the last is used).
        mean, std (list[float]): per-channel normalisation, 0-255 scale.
        to_rgb (bool): flip the channel order first (as MMAction2's
            ``data_preprocessor`` does).
        device (str): where the backbone runs.
    """

    def __init__(
        self,
        backbone: torch.nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        to_rgb: bool = False,
        device: str = 'cpu',
    ) -> None:
        self.device = torch.device(device)
        self.backbone = backbone.to(self.device)
        self.backbone.eval()
        self.mean = torch.tensor(
            mean, dtype=torch.float32, device=self.device
        ).view(1, 3, 1, 1)
        self.std = torch.tensor(
            std, dtype=torch.float32, device=self.device
        ).view(1, 3, 1, 1)
        self.to_rgb = to_rgb

    @torch.inference_mode()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """``[N, H, W, 3]`` uint8 RGB -> ``[N, D]`` float32 features."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        x = x.permute(0, 3, 1, 2).float()
        if self.to_rgb:
            x = x.flip(1)
        x = (x - self.mean) / self.std
        out = self.backbone(x)
        if isinstance(out, (tuple, list)):
            out = out[-1]
        if out.dim() == 4:
            out = out.mean(dim=(2, 3))
        elif out.dim() != 2:
            raise ValueError(
                f'the backbone returned shape {tuple(out.shape)} for '
                f'{tuple(x.shape)} frames; expected a 2D backbone giving '
                '[N, D, h, w] (or [N, D])'
            )
        return out.float().cpu().numpy()


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
