"""Frame sampling for per-frame feature arrays."""

from typing import Sequence, Union

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ...utils.transfer import to_device

_MASK32 = 0xFFFFFFFF
# Multipliers and salts of the 32-bit integer hash below ("lowbias32").
_MUL1, _MUL2 = 0x7FEB352D, 0x846CA68B
_SALT_KEY, _SALT_DRAW = 0x3C6EF372, 0x9E3779B9
# Largest video length the draw supports (``r * total`` stays in int64).
MAX_SEEDED_FRAMES = 1 << 31


def uniform_frame_indices(
    total: int, num_frames: int, num_clips: int = 1
) -> np.ndarray:
    """Uniformly spaced frames, ``[num_clips * num_frames]`` int64.

    Frame ``i`` of clip ``k`` is ``floor((i + (k + 0.5) / num_clips) * total
    / num_frames)``: with one clip, the centre of the ``i``-th of
    ``num_frames`` equal segments. Shorter videos repeat frames. Shared by
    test-time feature sampling and feature extraction from raw video.
    """
    if total <= 0:
        raise ValueError(f'video has no frame (total={total})')
    if num_frames <= 0:
        raise ValueError(f'num_frames must be > 0, got {num_frames}')
    offsets = (np.arange(num_clips) + 0.5) / num_clips
    pos = (np.arange(num_frames)[None, :] + offsets[:, None]) * (
        total / num_frames
    )
    return np.minimum(np.floor(pos).astype(np.int64), total - 1).reshape(-1)


def _mix32_np(x: np.ndarray) -> np.ndarray:
    """32-bit integer hash of a uint64 array holding 32-bit values."""
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(_MUL1)) & np.uint64(_MASK32)
    x = x ^ (x >> np.uint64(15))
    x = (x * np.uint64(_MUL2)) & np.uint64(_MASK32)
    return x ^ (x >> np.uint64(16))


def _mulmod32_torch(x: torch.Tensor, c: int) -> torch.Tensor:
    """``x * c mod 2**32`` for int64 ``x < 2**32`` without int64 overflow."""
    lo = x * (c & 0xFFFF)
    hi = ((x * (c >> 16)) & 0xFFFF) << 16
    return (lo + hi) & _MASK32


def _mix32_torch(x: torch.Tensor) -> torch.Tensor:
    """The hash of :func:`_mix32_np` on int64 tensors (any device)."""
    x = x ^ (x >> 16)
    x = _mulmod32_torch(x, _MUL1)
    x = x ^ (x >> 15)
    x = _mulmod32_torch(x, _MUL2)
    return x ^ (x >> 16)


def _mix32(x: int) -> int:
    """The hash of :func:`_mix32_np` on one Python int."""
    x ^= x >> 16
    x = (x * _MUL1) & _MASK32
    x ^= x >> 15
    x = (x * _MUL2) & _MASK32
    return x ^ (x >> 16)


def sample_key(sample_seed: Sequence[int]) -> int:
    """32-bit key of ``sample_seed = (seed, epoch, index)``."""
    seed, epoch, idx = (int(v) for v in sample_seed)
    if seed < 0 or epoch < 0 or idx < 0:
        raise ValueError(
            'sample_seed (seed, epoch, index) must be '
            f'non-negative, got {tuple(sample_seed)!r}'
        )
    key = _mix32((seed & _MASK32) ^ _SALT_KEY)
    for word in ((seed >> 32) & _MASK32, epoch & _MASK32, idx & _MASK32):
        key = _mix32(key ^ word)
    return key


def seeded_frame_indices(
    sample_seeds: Sequence[Sequence[int]],
    totals: Union[Sequence[int], np.ndarray, torch.Tensor],
    clip_len: int,
    num_clips: int = 1,
    device: Union[str, torch.device, None] = None,
) -> Union[np.ndarray, torch.Tensor]:
    """Random training frames of a batch, a pure function of the seeds.

    Frame ``j`` (``j = k * clip_len + i`` for frame ``i`` of clip ``k``) of
    the sample with ``sample_seed = (seed, epoch, index)`` is
    ``floor(r * T / 2**32)`` where ``T`` is the video's frame count and
    ``r = h(h(key ^ j) ^ salt)``, ``h`` a bijective 32-bit integer hash and
    ``key`` = :func:`sample_key` (``h`` chained over seed, epoch, index):
    each frame uniform on ``[0, T)``, independently, with replacement; then
    each clip is sorted. Being a hash of a counter (not a random stream),
    the draw vectorises over a batch on any device and gives the same frames
    per sample however it is computed: per sample in
    :class:`SampleFeatureFrames`, per batch in the batched reads and the
    feature bank (``docs/design.md``).

    Args:
        sample_seeds (sequence): ``B`` triples ``(seed, epoch, index)`` of
            non-negative ints (epoch and index are used modulo ``2**32``).
        totals (sequence | np.ndarray | torch.Tensor): ``[B]`` frame counts,
            ``1 <= T < 2**31``.
        clip_len (int): Frames per clip.
        num_clips (int): Clips per video.
        device (str | torch.device, optional): None: compute with numpy and
            return ``np.ndarray``; else compute with torch on ``device`` and
            return a tensor.

    Returns:
        np.ndarray | torch.Tensor: int64 ``[B, num_clips * clip_len]``.
    """
    keys = np.asarray([sample_key(s) for s in sample_seeds], dtype=np.uint64)
    return frames_from_keys(keys, totals, clip_len, num_clips, device)


def batch_sample_keys(seed: int, epoch: int, indices) -> np.ndarray:
    """:func:`sample_key` of ``(seed, epoch, i)`` for every ``i`` of
    ``indices``, vectorised: uint64 ``[B]`` (32-bit values).

    Args:
        seed (int): ``>= 0``.
        epoch (int): ``>= 0``.
        indices (array-like): ``[B]`` non-negative sample indices.
    """
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    seed, epoch = int(seed), int(epoch)
    if seed < 0 or epoch < 0 or (idx.size and int(idx.min()) < 0):
        raise ValueError(
            'sample_seed (seed, epoch, index) must be non-negative, got '
            f'seed={seed}, epoch={epoch}, indices {idx[:10].tolist()}'
        )
    key = _mix32((seed & _MASK32) ^ _SALT_KEY)
    for word in ((seed >> 32) & _MASK32, epoch & _MASK32):
        key = _mix32(key ^ word)
    word = idx.astype(np.uint64) & np.uint64(_MASK32)
    return _mix32_np(np.uint64(key) ^ word)


def frames_from_keys(
    keys: np.ndarray,
    totals: Union[Sequence[int], np.ndarray, torch.Tensor],
    clip_len: int,
    num_clips: int = 1,
    device: Union[str, torch.device, None] = None,
) -> Union[np.ndarray, torch.Tensor]:
    """The frames of :func:`seeded_frame_indices` from the samples' keys
    (uint64 ``[B]``, :func:`sample_key` / :func:`batch_sample_keys`).

    Frame counts given on the host (sequence, numpy) are checked there
    and copied to ``device`` without a synchronisation.
    """
    keys = np.asarray(keys, dtype=np.uint64).reshape(-1)
    width = num_clips * clip_len
    if isinstance(totals, torch.Tensor):
        host = None
        total_t = totals.to(dtype=torch.int64, device=device or 'cpu')
        count = total_t.numel()
        low, high = (
            (int(total_t.min()), int(total_t.max())) if count else (1, 1)
        )
    else:
        host = np.asarray(totals, dtype=np.int64).reshape(-1)
        count = host.size
        low, high = (int(host.min()), int(host.max())) if count else (1, 1)
    if len(keys) != count:
        raise ValueError(f'{len(keys)} sample seeds for {count} frame counts')
    if low < 1 or high >= MAX_SEEDED_FRAMES:
        shown = (host if host is not None else total_t.cpu().numpy())[:10]
        raise ValueError(
            f'frame counts must be in [1, {MAX_SEEDED_FRAMES})'
            f', got {shown.tolist()}'
        )
    if device is None:
        total = (host if host is not None else total_t.cpu().numpy()).reshape(
            -1, 1
        )
        key = keys.reshape(-1, 1)
        draw = np.arange(width, dtype=np.uint64)[None]
        r = _mix32_np(_mix32_np(key ^ draw) ^ np.uint64(_SALT_DRAW))
        frames = (r * total.astype(np.uint64)) >> np.uint64(32)
        frames = frames.astype(np.int64).reshape(-1, num_clips, clip_len)
        return np.sort(frames, axis=2).reshape(-1, width)
    if host is not None:
        total_t = to_device(torch.from_numpy(host), device)
    total = total_t.reshape(-1, 1)
    key = to_device(torch.from_numpy(keys.astype(np.int64)), device)
    key = key.reshape(-1, 1)
    draw = torch.arange(width, dtype=torch.int64, device=device)[None]
    r = _mix32_torch(_mix32_torch(key ^ draw) ^ _SALT_DRAW)
    frames = ((r * total) >> 32).reshape(-1, num_clips, clip_len)
    return torch.sort(frames, dim=2).values.reshape(-1, width)


@TRANSFORMS.register_module()
class SampleFeatureFrames(BaseTransform):
    """Choose which frames of a ``[T, D]`` feature array to read.

    * training (``test_mode=False``): ``clip_len`` frames drawn uniformly at
      random *with replacement*, sorted to keep temporal order; one
      independent draw per clip;
    * testing: ``clip_len`` uniformly spaced frames,
      ``floor((i + (k + 0.5) / num_clips) * T / clip_len)`` for frame ``i``
      of clip ``k``; with ``T == clip_len`` and one clip this is every frame.

    Videos shorter than ``clip_len`` repeat frames; no padding.

    Training draws are :func:`seeded_frame_indices` of ``sample_seed`` when
    the sample carries it (set by
    :meth:`MultiLabelFeatureDataset.set_frame_seed`, i.e. by
    ``FrameSamplingSeedHook``: a function of seed, epoch and sample index,
    so exact on resume, independent of the worker count and equal to the
    batched reads' and the feature bank's draws), else from the global
    ``numpy.random`` state.

    Required keys: ``total_frames``. Added: ``frame_inds`` (int64,
    ``[num_clips * clip_len]``), ``clip_len``, ``num_clips``.

    Args:
        clip_len (int): Frames per clip.
        num_clips (int): Clips (views) per video. Defaults to 1.
        test_mode (bool): Deterministic uniform sampling. Defaults to False.
    """

    def __init__(
        self, clip_len: int, num_clips: int = 1, test_mode: bool = False
    ) -> None:
        if not isinstance(clip_len, int) or clip_len <= 0:
            raise ValueError(
                f'clip_len must be a positive int, got {clip_len!r}'
            )
        if not isinstance(num_clips, int) or num_clips <= 0:
            raise ValueError(
                f'num_clips must be a positive int, got {num_clips!r}'
            )
        self.clip_len = clip_len
        self.num_clips = num_clips
        self.test_mode = test_mode

    def _train_inds(self, total: int, sample_seed=None) -> np.ndarray:
        size = (self.num_clips, self.clip_len)
        if sample_seed is not None:
            return seeded_frame_indices(
                [sample_seed], [total], self.clip_len, self.num_clips
            )[0]
        inds = np.random.randint(0, total, size=size)
        return np.sort(inds, axis=1).reshape(-1)

    def transform(self, results: dict) -> dict:
        """Set ``frame_inds`` (and ``clip_len`` / ``num_clips``)."""
        total = int(results['total_frames'])
        if total <= 0:
            raise ValueError(
                f'video {results.get("video_id")!r} has {total} frames'
            )
        if self.test_mode:
            inds = uniform_frame_indices(total, self.clip_len, self.num_clips)
        else:
            inds = self._train_inds(total, results.get('sample_seed'))
        results['frame_inds'] = inds.astype(np.int64)
        results['clip_len'] = self.clip_len
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(clip_len={self.clip_len}, '
            f'num_clips={self.num_clips}, test_mode={self.test_mode})'
        )
