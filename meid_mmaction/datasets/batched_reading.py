"""Read a whole batch of feature clips at once.

:class:`BatchedFeatureReader` does for a batch of dataset indices what the
standard pipeline ``OpenFeatures`` -> ``SampleFeatureFrames`` ->
``LoadFeatureFrames`` -> ``PackFeatureInputs`` does for one sample, with
the same frames (:func:`seeded_frame_indices` / :func:`uniform_frame_indices`
of the same seeds), the same values and the same packed output, but with
one vectorised read per batch: from the feature store
(``read_frames(video_ids, frame_inds)``, one sorted read per shard for a
packed store) or from a :class:`FeatureBank` in RAM / GPU memory. It backs
``MultiLabelFeatureDataset.__getitems__`` (``batch_read=True`` or
``feature_bank=dict(...)``).
"""

from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from ..utils.transfer import to_device
from .feature_bank import BANK_DTYPES, FeatureBank
from .feature_batch import MISSING, FeatureBatch, FeatureBatchSamples
from .feature_store import build_feature_store
from .label_mask import NO_CLASS
from .labels import label_ranges
from .transforms import (
    LoadFeatureFrames,
    OpenFeatures,
    PackFeatureInputs,
    SampleFeatureFrames,
)
from .transforms.sampling import (
    batch_sample_keys,
    frames_from_keys,
    uniform_frame_indices,
)

_PIPELINE = (
    OpenFeatures,
    SampleFeatureFrames,
    LoadFeatureFrames,
    PackFeatureInputs,
)
_BANK_KEYS = ('device', 'dtype', 'memory_limit')


def check_bank_cfg(feature_bank: Optional[dict]) -> Optional[dict]:
    """Validate a ``feature_bank`` config; returns it with defaults."""
    if feature_bank is None:
        return None
    if not isinstance(feature_bank, dict):
        raise ValueError(
            'feature_bank must be None or a dict with keys '
            f'{_BANK_KEYS}, got {feature_bank!r}'
        )
    unknown = sorted(set(feature_bank) - set(_BANK_KEYS))
    if unknown:
        raise ValueError(
            f'feature_bank has unknown keys {unknown}; '
            f'expected a subset of {list(_BANK_KEYS)}'
        )
    cfg = dict(device='cpu', dtype='float16', memory_limit=None)
    cfg.update(feature_bank)
    if cfg['dtype'] not in BANK_DTYPES:
        raise ValueError(
            f'feature_bank dtype must be one of {BANK_DTYPES}, '
            f'got {cfg["dtype"]!r}'
        )
    device = str(cfg['device'])
    if device != 'cpu' and not device.startswith('cuda'):
        raise ValueError(
            f"feature_bank device must be 'cpu' or 'cuda[:i]', got {device!r}"
        )
    return cfg


class BatchedFeatureReader:
    """Batch-at-once equivalent of a dataset's feature pipeline.

    Args:
        pipeline (Sequence): The dataset's transforms; must be exactly
            ``OpenFeatures``, ``SampleFeatureFrames``, ``LoadFeatureFrames``,
            ``PackFeatureInputs`` (their arguments are honoured).
        feature_bank (dict, optional): ``device`` (``'cpu'`` or
            ``'cuda[:i]'``), ``dtype`` (``'float32'``, ``'float16'``,
            ``'int8'``), ``memory_limit`` (bytes, optional). None: read from
            the feature store.
    """

    def __init__(
        self, pipeline: Sequence, feature_bank: Optional[dict] = None
    ) -> None:
        kinds = tuple(type(t) for t in pipeline)
        if kinds != _PIPELINE:
            raise ValueError(
                'batch_read / feature_bank support exactly the pipeline '
                f'{[k.__name__ for k in _PIPELINE]}, got '
                f'{[k.__name__ for k in kinds]}; use the per-sample path '
                '(batch_read=False, feature_bank=None) for other transforms'
            )
        opener, sampler, _, packer = pipeline
        self.feat_dim = opener.feat_dim
        self.clip_len = sampler.clip_len
        self.num_clips = sampler.num_clips
        self.test_mode = sampler.test_mode
        self.meta_keys = packer.meta_keys
        self.bank_cfg = check_bank_cfg(feature_bank)
        # Shared by deep copies (mmengine deep-copies a dataset handed to
        # build_dataloader, e.g. for MEID's stage-2 loader): one bank each.
        self._shared = dict(bank=None)
        self._stores: Dict[str, object] = {}
        self._ids: Optional[List[str]] = None
        self._totals: Optional[np.ndarray] = None
        self._uniform: Dict[int, np.ndarray] = {}

    @property
    def bank(self) -> Optional[FeatureBank]:
        """The loaded bank (None before the first batch)."""
        return self._shared['bank']

    def __getstate__(self):
        # No open memory maps or banks into pickled copies (workers).
        state = self.__dict__.copy()
        state.update(_stores={}, _shared=dict(bank=None))
        return state

    def __deepcopy__(self, memo):
        # Same split, same bank: a copy shares the (loaded or future) bank
        # and the caches instead of holding a second copy of the split.
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update(self.__dict__)  # not copy.copy: __getstate__
        new._stores = {}
        memo[id(self)] = new
        return new

    # ------------------------------------------------------------ set-up
    def _store(self, root: str):
        store = self._stores.get(root)
        if store is None:
            store = build_feature_store(root)
            self._stores[root] = store
        return store

    def _split_info(self, dataset):
        if self._ids is None:
            infos = [dataset.get_data_info(i) for i in range(len(dataset))]
            roots = {info['feature_root'] for info in infos}
            if len(roots) != 1:
                raise ValueError(
                    'batched reads need one feature root per '
                    f'dataset, got {sorted(roots)}'
                )
            self._root = roots.pop()
            self._ids = [info['video_id'] for info in infos]
            self._totals = np.full(len(infos), -1, dtype=np.int64)
            self._dataset_feat_dim = (
                infos[0].get('feat_dim') if infos else None
            )
        return self._ids

    def load_bank(self, dataset) -> FeatureBank:
        """Load (once) the feature bank of ``dataset``'s split."""
        if self.bank is None:
            if self.bank_cfg is None:
                raise ValueError('this dataset has no feature_bank config')
            if torch.utils.data.get_worker_info() is not None:
                raise ValueError(
                    'feature_bank: the bank is loaded once in the main '
                    'process and gathers batches itself; set the '
                    'dataloader num_workers=0 (a worker would load its own '
                    'copy of the whole split)'
                )
            ids = self._split_info(dataset)
            self._shared['bank'] = FeatureBank.load(
                self._store(self._root),
                ids,
                device=self.bank_cfg['device'],
                dtype=self.bank_cfg['dtype'],
                feat_dim=self.feat_dim or self._dataset_feat_dim,
                memory_limit=self.bank_cfg['memory_limit'],
                name=getattr(dataset, 'ann_file', 'split'),
            )
        return self.bank

    # ------------------------------------------------------------ frames
    def _frame_counts(self, store, idx: np.ndarray) -> np.ndarray:
        """``[B]`` frame counts (opened once per video and process)."""
        totals = self._totals[idx]
        feat_dim = self.feat_dim or self._dataset_feat_dim
        for pos in np.nonzero(totals < 0)[0]:
            vid = self._ids[idx[pos]]
            arr = store.open(vid)
            if (
                arr.ndim != 2
                or arr.shape[0] == 0
                or (feat_dim is not None and arr.shape[1] != feat_dim)
            ):
                raise ValueError(
                    f'{store.location(vid)}: features of video {vid!r} '
                    f'have shape {tuple(arr.shape)}, expected [frames > 0, '
                    f'{feat_dim if feat_dim is not None else "D"}]'
                )
            self._totals[idx[pos]] = totals[pos] = arr.shape[0]
        return totals

    def frame_indices(
        self, dataset, idx: np.ndarray, totals: np.ndarray, device=None
    ):
        """``[B, num_clips * clip_len]`` int64 frames of samples ``idx``.

        The per-sample pipeline's frames: uniform in test mode, else
        :func:`seeded_frame_indices` of ``(seed, epoch, index)`` after
        ``dataset.set_frame_seed``, else the global ``numpy.random`` state in
        sample order. A tensor on ``device`` if given, else numpy.
        """
        seed = getattr(dataset, '_sampling_seed', None)
        if not self.test_mode and seed is not None:
            return frames_from_keys(
                batch_sample_keys(seed[0], seed[1], idx),
                totals,
                self.clip_len,
                self.num_clips,
                device=device,
            )
        rows = []
        for total in totals.tolist():
            if self.test_mode:
                inds = self._uniform.get(total)
                if inds is None:
                    inds = uniform_frame_indices(
                        total, self.clip_len, self.num_clips
                    )
                    self._uniform[total] = inds
            else:
                inds = np.sort(
                    np.random.randint(
                        0, total, size=(self.num_clips, self.clip_len)
                    ),
                    axis=1,
                ).reshape(-1)
            rows.append(inds)
        inds = np.stack(rows).astype(np.int64)
        return inds if device is None else torch.from_numpy(inds).to(device)

    # -------------------------------------------------------------- read
    def read(
        self,
        dataset,
        indices: Sequence[int],
        drawn: Optional[Sequence[Optional[int]]] = None,
    ) -> FeatureBatch:
        """Samples ``indices`` as the per-sample pipeline packs them (a
        :class:`FeatureBatch`: as a sequence, the per-sample dicts).

        Args:
            dataset: The dataset (labels, seeds, split).
            indices (Sequence[int]): ``B`` video indices.
            drawn (Sequence[int | None], optional): Per sample, the class a
                label-masked sampler drew it for (``drawn_class``).
        """
        ids = self._split_info(dataset)
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if self.bank_cfg is not None:
            bank = self.load_bank(dataset)
            totals = bank.lengths_host[idx]
            # on a CPU bank numpy draws faster than torch (same values)
            on_host = bank.device.type == 'cpu'
            frames = self.frame_indices(
                dataset, idx, totals, None if on_host else bank.device
            )
            if on_host:
                frames = torch.from_numpy(frames)
            feats = bank.gather(
                to_device(torch.from_numpy(idx), bank.device), frames
            )
        else:
            store = self._store(self._root)
            totals = self._frame_counts(store, idx)
            frames = self.frame_indices(dataset, idx, totals)
            vids = [ids[i] for i in idx.tolist()]
            feats = torch.from_numpy(self._read_store(store, vids, frames))
        return self._pack(dataset, idx, feats, frames, totals, drawn)

    def _read_store(
        self, store, vids: List[str], frames: np.ndarray
    ) -> np.ndarray:
        if callable(getattr(store, 'read_frames', None)):
            feats = store.read_frames(vids, frames)
        else:
            feats = np.stack(
                [
                    np.asarray(store.open(v)[f], dtype=np.float32)
                    for v, f in zip(vids, frames)
                ]
            )
        feats = np.asarray(feats)
        if feats.dtype not in (np.float16, np.float32):
            feats = feats.astype(np.float32)
        finite = np.isfinite(feats).all(axis=2)
        if not finite.all():
            b = int(np.nonzero(~finite.all(axis=1))[0][0])
            bad = np.unique(frames[b][~finite[b]])
            raise ValueError(
                f'{store.location(vids[b])}: non-finite (NaN/inf) features '
                f'in video {vids[b]!r} at frames {bad[:10].tolist()}'
            )
        return feats

    def _pack(
        self,
        dataset,
        idx: np.ndarray,
        feats: torch.Tensor,
        frames,
        totals: np.ndarray,
        drawn,
    ) -> FeatureBatch:
        """The batch as ``PackFeatureInputs`` packs its samples, as one
        :class:`FeatureBatch`: inputs ``[B, V, N, D]`` in the stored dtype
        (float16 or float32; ``FeatureDataPreprocessor`` or
        ``ActionDataPreprocessor`` cast to float32), labels ``[B, C]``,
        drawn classes ``[B]`` and the metainfo as columns (``frames`` stays
        where it was drawn, e.g. on the bank's GPU, until a sample is
        made)."""
        num_classes = dataset.num_classes
        lo = dataset._label_offsets[idx]
        hi = dataset._label_offsets[idx + 1]
        empty = np.nonzero(hi == lo)[0]
        if len(empty):
            raise ValueError(
                f'video {self._ids[idx[empty[0]]]!r} has an empty label'
            )
        flat = dataset._label_flat[label_ranges(lo, hi)]
        rows = np.repeat(np.arange(len(idx)), hi - lo)
        target = torch.zeros(len(idx), num_classes, dtype=torch.float32)
        target[
            torch.from_numpy(rows), torch.from_numpy(flat.astype(np.int64))
        ] = 1.0
        inputs = feats.view(
            len(idx), self.num_clips, self.clip_len, feats.shape[-1]
        )
        keys = self.meta_keys
        columns = {}
        if 'video_id' in keys:
            columns['video_id'] = [self._ids[i] for i in idx.tolist()]
        if 'total_frames' in keys:
            columns['total_frames'] = totals
        if 'frame_inds' in keys:
            columns['frame_inds'] = frames
        seed = getattr(dataset, '_sampling_seed', None)
        if seed is not None and 'sample_seed' in keys:
            columns['sample_seed'] = [(*seed, i) for i in idx.tolist()]
        if 'feature_location' in keys:
            store = self._store(self._root)
            columns['feature_location'] = [
                store.location(self._ids[i]) for i in idx.tolist()
            ]
        extra = [k for k in keys if k not in _STANDARD_KEYS]
        if extra:
            infos = [dataset.get_data_info(i) for i in idx.tolist()]
            for k in extra:
                columns[k] = [info.get(k, MISSING) for info in infos]
        constants = dict(num_clips=self.num_clips, clip_len=self.clip_len)
        drawn_t = None
        if drawn is not None:
            drawn = np.array(
                [NO_CLASS if c is None else int(c) for c in drawn]
                if not isinstance(drawn, np.ndarray)
                else drawn,
                dtype=np.int64,
            )
            if (drawn >= 0).any():
                drawn_t = torch.from_numpy(drawn)
        samples = FeatureBatchSamples(
            target, drawn_t, columns, constants, keys
        )
        return FeatureBatch(inputs, samples)


_STANDARD_KEYS = (
    'video_id',
    'frame_inds',
    'total_frames',
    'num_clips',
    'clip_len',
    'sample_seed',
    'feature_location',
)
