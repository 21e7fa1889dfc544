"""A whole split's features resident in memory (RAM or GPU).

:class:`FeatureBank` holds every ``[T_i, D]`` feature array of a split in
one ``[sum_i T_i, D]`` tensor on a device, in float32, float16 or int8 with
a per-channel scale, plus each video's first row and frame count. A batch is
then one gather (``bank[first_row[idx] + frame_inds]``) on the bank's
device, with no file access and no worker process. The dataset builds it
from its feature store when configured with ``feature_bank=dict(...)``
(see :class:`MultiLabelFeatureDataset`).
"""

import os
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.logging import print_log

BANK_DTYPES = ('float32', 'float16', 'int8')
_TORCH_DTYPES = dict(
    float32=torch.float32, float16=torch.float16, int8=torch.int8
)
# Smallest magnitude that float16 rounds to infinity.
_FLOAT16_OVERFLOW = 65520.0


def available_memory(device: torch.device) -> int:
    """Bytes that can still be allocated on ``device``.

    CPU: ``MemAvailable`` of ``/proc/meminfo`` (free pages otherwise);
    CUDA: the free memory reported by ``torch.cuda.mem_get_info``.
    """
    if device.type == 'cuda':
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != 'cpu':
        raise ValueError(
            f'feature_bank device must be cpu or cuda, got {device}'
        )
    try:
        with open('/proc/meminfo', encoding='ascii') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')


def _gib(n: int) -> str:
    return f'{n} bytes ({n / 2**30:.2f} GiB)'


class FeatureBank:
    """All frames of a split in one tensor; gathers batches on its device.

    Args:
        data (torch.Tensor): ``[R, D]`` rows of all videos, concatenated.
        first_rows (torch.Tensor): ``[N]`` int64, first row of each video.
        lengths (torch.Tensor): ``[N]`` int64 frame counts ``T_i``.
        scale (torch.Tensor, optional): ``[D]`` float32 per-channel scale of
            an int8 bank (value = ``int8 * scale``).
        stats (dict, optional): Loading statistics (for int8 the
            reconstruction error, see :meth:`load`).
    """

    def __init__(
        self,
        data: torch.Tensor,
        first_rows: torch.Tensor,
        lengths: torch.Tensor,
        scale: Optional[torch.Tensor] = None,
        stats: Optional[Dict[str, float]] = None,
    ) -> None:
        self.data = data
        self.first_rows = first_rows
        self.lengths = lengths
        self.lengths_host = lengths.cpu().numpy()
        self.scale = scale
        self.stats = dict(stats or {})

    @property
    def device(self) -> torch.device:
        """Where the bank lives."""
        return self.data.device

    @property
    def nbytes(self) -> int:
        """Bytes held by the bank's tensors."""
        extra = 0 if self.scale is None else self.scale.numel() * 4
        return (
            self.data.numel() * self.data.element_size()
            + 2 * self.first_rows.numel() * 8
            + extra
        )

    @staticmethod
    def bytes_needed(rows: int, dim: int, dtype: str, videos: int) -> int:
        """Bytes a bank of ``rows`` frames of ``dim`` channels needs."""
        itemsize = torch.empty((), dtype=_TORCH_DTYPES[dtype]).element_size()
        scale = dim * 4 if dtype == 'int8' else 0
        return rows * dim * itemsize + 2 * videos * 8 + scale

    @classmethod
    def load(
        cls,
        store,
        video_ids: Sequence[str],
        device='cpu',
        dtype: str = 'float16',
        feat_dim: Optional[int] = None,
        memory_limit: Optional[int] = None,
        name: str = 'split',
    ) -> 'FeatureBank':
        """Read every video of ``video_ids`` from ``store`` into a bank.

        The frame counts come from the store first (headers / index only);
        if the bank does not fit, nothing is read and ``ValueError`` gives
        the bytes needed and available. Values are checked finite (and, for
        float16, inside its range) per video, naming the video's location.
        An int8 bank takes two passes: the per-channel scale
        ``max_v |x_vd| / 127`` first, then the rounded values; its
        reconstruction error (``rmse``, ``max_abs_error``,
        ``relative_rmse`` = ``||x - x_hat|| / ||x||`` over all values) is
        logged and kept in :attr:`stats`.

        Args:
            store: A feature store (``open(video_id)``, ``location(...)``).
            video_ids (Sequence[str]): The split, in dataset index order.
            device (str | torch.device): ``'cpu'`` or a CUDA device.
            dtype (str): One of ``BANK_DTYPES``.
            feat_dim (int, optional): Expected ``D``.
            memory_limit (int, optional): Bytes the bank may use; defaults to
                (and is capped by) the memory available on ``device``.
            name (str): Split name for messages.
        """
        if dtype not in BANK_DTYPES:
            raise ValueError(
                f'feature_bank dtype must be one of '
                f'{BANK_DTYPES}, got {dtype!r}'
            )
        device = torch.device(device)
        if device.type == 'cuda' and not torch.cuda.is_available():
            raise ValueError(
                f"feature_bank device='{device}' but CUDA is "
                "not available; use device='cpu' (RAM)"
            )
        if not video_ids:
            raise ValueError(f'feature_bank: the {name} split has no video')
        lengths = np.empty(len(video_ids), dtype=np.int64)
        dim = feat_dim
        for i, vid in enumerate(video_ids):
            arr = store.open(vid)
            if (
                arr.ndim != 2
                or arr.shape[0] == 0
                or (dim is not None and arr.shape[1] != dim)
            ):
                raise ValueError(
                    f'{store.location(vid)}: features of video {vid!r} '
                    f'have shape {tuple(arr.shape)}, expected [frames > 0, '
                    f'{dim if dim is not None else "D"}]'
                )
            dim = int(arr.shape[1])
            lengths[i] = arr.shape[0]
        rows = int(lengths.sum())
        needed = cls.bytes_needed(rows, dim, dtype, len(video_ids))
        available = available_memory(device)
        if memory_limit is not None:
            available = min(available, int(memory_limit))
        if needed > available:
            raise ValueError(
                f'feature_bank: the {name} split ({len(video_ids)} videos, '
                f'{rows} frames x {dim} channels as {dtype}) needs '
                f'{_gib(needed)} on {device}, but only {_gib(available)} '
                'are available (memory_limit or free memory); use '
                "dtype='int8' (1 byte per value), a device with more memory, "
                'or batch_read=True without a bank'
            )
        first = np.zeros(len(video_ids), dtype=np.int64)
        np.cumsum(lengths[:-1], out=first[1:])
        scale, stats = None, {}
        if dtype == 'int8':
            scale = cls._int8_scale(store, video_ids, dim, device)
        data = torch.empty(
            (rows, dim), dtype=_TORCH_DTYPES[dtype], device=device
        )
        errors = cls._fill(data, store, video_ids, first, scale, dtype)
        if dtype == 'int8':
            sq_err, sq_ref, max_err = errors
            stats = dict(
                rmse=float(np.sqrt(sq_err / (rows * dim))),
                relative_rmse=float(np.sqrt(sq_err / max(sq_ref, 1e-30))),
                max_abs_error=float(max_err),
            )
        bank = cls(
            data,
            torch.from_numpy(first).to(device),
            torch.from_numpy(lengths).to(device),
            scale,
            stats,
        )
        msg = (
            f'feature_bank: {name} split, {len(video_ids)} videos, '
            f'{rows} frames x {dim} as {dtype} on {device}: '
            f'{_gib(bank.nbytes)}'
        )
        if stats:
            msg += (
                f'; int8 reconstruction error: rmse {stats["rmse"]:.4g},'
                f' relative {stats["relative_rmse"]:.4g}, max '
                f'{stats["max_abs_error"]:.4g}'
            )
        print_log(msg, logger='current')
        return bank

    @staticmethod
    def _read(store, vid: str) -> np.ndarray:
        arr = np.array(store.open(vid))  # read into writable memory
        if arr.dtype.kind == 'f' and not np.isfinite(arr).all():
            rows = np.unique(np.nonzero(~np.isfinite(arr))[0])
            raise ValueError(
                f'{store.location(vid)}: non-finite (NaN/inf) features in '
                f'video {vid!r} at frames {rows[:10].tolist()}'
            )
        return arr

    @classmethod
    def _int8_scale(
        cls, store, video_ids: Sequence[str], dim: int, device: torch.device
    ) -> torch.Tensor:
        """Per-channel ``max_v |x_vd| / 127`` (1 where a channel is all
        zero), ``[D]`` float32, computed on ``device``."""
        amax = torch.zeros(dim, dtype=torch.float32, device=device)
        for vid in video_ids:
            x = torch.from_numpy(cls._read(store, vid)).to(device)
            amax = torch.maximum(amax, x.abs().amax(dim=0).to(torch.float32))
        scale = amax / 127
        scale[scale == 0] = 1.0
        return scale

    @classmethod
    def _fill(
        cls,
        data: torch.Tensor,
        store,
        video_ids,
        first: np.ndarray,
        scale: Optional[torch.Tensor],
        dtype: str,
    ):
        """Copy every video into ``data``, converting (int8: quantising and
        measuring the error) on the bank's device."""
        device = data.device
        sq_err = torch.zeros((), dtype=torch.float64, device=device)
        sq_ref = torch.zeros((), dtype=torch.float64, device=device)
        max_err = torch.zeros((), dtype=torch.float32, device=device)
        for i, vid in enumerate(video_ids):
            arr = cls._read(store, vid)
            if (
                dtype == 'float16'
                and arr.dtype != np.float16
                and arr.size
                and np.abs(arr).max() >= _FLOAT16_OVERFLOW
            ):
                raise ValueError(
                    f'{store.location(vid)}: values of video {vid!r} '
                    'exceed the float16 range (max 65504); use '
                    "feature_bank dtype='float32' or 'int8'"
                )
            x = torch.from_numpy(arr).to(device)
            if dtype == 'int8':
                x = x.to(torch.float32)
                q = torch.round(x / scale).clamp_(-127, 127)
                err = q * scale - x
                sq_err += err.to(torch.float64).square().sum()
                sq_ref += x.to(torch.float64).square().sum()
                max_err = torch.maximum(max_err, err.abs().max())
                x = q
            start = int(first[i])
            data[start : start + x.shape[0]] = x.to(data.dtype)
        return float(sq_err), float(sq_ref), float(max_err)

    def gather(
        self, indices: torch.Tensor, frame_inds: torch.Tensor
    ) -> torch.Tensor:
        """Frames ``frame_inds`` of videos ``indices``.

        Args:
            indices (torch.Tensor): ``[B]`` int64 video positions (on the
                bank's device).
            frame_inds (torch.Tensor): ``[B, F]`` int64 frame indices within
                each video (``0 <= f < T_i``).

        Returns:
            torch.Tensor: ``[B, F, D]`` on the bank's device, in the bank's
            dtype (float16 / float32: the stored values; the data
            preprocessor casts to float32), or float32 ``int8 * scale``.
        """
        rows = self.first_rows[indices].unsqueeze(1) + frame_inds
        out = self.data.index_select(0, rows.reshape(-1))
        if self.scale is not None:
            out = out.to(torch.float32).mul_(self.scale)
        return out.view(*frame_inds.shape, self.data.shape[1])
