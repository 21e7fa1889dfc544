"""Open feature arrays lazily and read only the sampled frames."""

from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..feature_store import build_feature_store

#: appended to data errors: the checker reports every bad file at once
CHECK_HINT = (
    '(find every such problem at once with `python '
    'tools/data/check_dataset.py --config <config>`; '
    '--check-data full checks all values before training)'
)


@TRANSFORMS.register_module()
class OpenFeatures(BaseTransform):
    """Open the feature array of a video without reading it.

    Required keys: ``video_id``, ``feature_root``; optional ``feat_dim``
    (checked if not None). Added keys: ``features`` (a memory-mapped
    ``[T, D]`` array), ``total_frames`` (``T``) and ``feature_location``
    (file / store position, for error messages).

    Feature stores are built once per root and cached in the transform, so
    each DataLoader worker keeps its own open handles.

    Args:
        feat_dim (int, optional): Expected ``D``; overrides the dataset's.
    """

    def __init__(self, feat_dim: Optional[int] = None) -> None:
        self.feat_dim = feat_dim
        self._stores: Dict[str, object] = {}

    def _store(self, root: str):
        store = self._stores.get(root)
        if store is None:
            store = build_feature_store(root)
            self._stores[root] = store
        return store

    def transform(self, results: dict) -> dict:
        """Open the features of ``results['video_id']`` (lazily)."""
        store = self._store(results['feature_root'])
        video_id = results['video_id']
        location = store.location(video_id)
        features = store.open(video_id)
        if features.ndim != 2:
            raise ValueError(
                f'{location}: features of video {video_id!r} must be a '
                f'[frames, dim] array, got shape {tuple(features.shape)} '
                f'{CHECK_HINT}'
            )
        feat_dim = self.feat_dim or results.get('feat_dim')
        if feat_dim is not None and features.shape[1] != feat_dim:
            raise ValueError(
                f'{location}: feature dim of video {video_id!r} is '
                f'{features.shape[1]}, expected feat_dim={feat_dim} '
                f'{CHECK_HINT}'
            )
        if features.shape[0] == 0:
            raise ValueError(
                f'{location}: video {video_id!r} has 0 frames {CHECK_HINT}'
            )
        results['features'] = features
        results['total_frames'] = int(features.shape[0])
        results['feature_location'] = location
        return results

    def __getstate__(self):
        # Do not carry open memory maps into DataLoader workers.
        state = self.__dict__.copy()
        state['_stores'] = {}
        return state

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(feat_dim={self.feat_dim})'


@TRANSFORMS.register_module()
class LoadFeatureFrames(BaseTransform):
    """Read the rows ``frame_inds`` of the opened features.

    Required keys: ``features``, ``frame_inds``, ``feature_location``.
    Modified: ``features`` becomes a float32 array ``[len(frame_inds), D]``
    (float16 storage is cast). Non-finite values raise ``ValueError`` naming
    the file.
    """

    def transform(self, results: dict) -> dict:
        """Read the rows ``frame_inds`` as float32 ``[K, D]``."""
        frame_inds = results['frame_inds']
        # Fancy indexing a memmap reads only the selected rows.
        feats = np.asarray(results['features'][frame_inds], dtype=np.float32)
        if not np.isfinite(feats).all():
            bad = np.unique(
                np.asarray(frame_inds)[~np.isfinite(feats).all(axis=1)]
            )
            raise ValueError(
                f'{results["feature_location"]}: non-finite (NaN/inf) '
                f'features in video {results.get("video_id")!r} at frames '
                f'{bad[:10].tolist()} {CHECK_HINT}'
            )
        results['features'] = feats
        return results
