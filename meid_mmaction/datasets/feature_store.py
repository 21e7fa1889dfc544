"""Where per-video feature arrays live.

A feature store maps a video id to a lazily read ``[T, D]`` array. Two layouts:

* :class:`NpyFeatureStore`: one ``<root>/<video id>.npy`` per video (the
  VideoLT release format), opened memory-mapped;
* the packed store (``packed_store.py``): a few large files plus an index,
  detected from its index file in ``root``.

Use :func:`build_feature_store` to get the right one for a directory.
"""

import os.path as osp

import numpy as np

from .packed_store import PackedFeatureStore, is_packed_store


class NpyFeatureStore:
    """Per-video ``.npy`` files under ``root``."""

    def __init__(self, root: str) -> None:
        self.root = root

    def location(self, video_id: str) -> str:
        """``<root>/<video id>.npy``, for reading and messages."""
        return osp.join(self.root, f'{video_id}.npy')

    def open(self, video_id: str) -> np.ndarray:
        """Memory-map the features of ``video_id`` (nothing is read yet)."""
        path = self.location(video_id)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'feature file of video {video_id!r} not found: {path}'
            )
        try:
            return np.load(path, mmap_mode='r', allow_pickle=False)
        except ValueError as e:
            raise ValueError(
                f'{path}: cannot read as a .npy array: {e}'
            ) from None


def build_feature_store(root: str):
    """Return the feature store for ``root`` (packed if it has an index)."""
    if is_packed_store(root):
        return PackedFeatureStore(root)
    return NpyFeatureStore(root)
