"""Frame sampling for per-frame feature arrays."""
import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


def uniform_frame_indices(total: int, num_frames: int,
                          num_clips: int = 1) -> np.ndarray:
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
        total / num_frames)
    return np.minimum(np.floor(pos).astype(np.int64), total - 1).reshape(-1)


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

    Training draws come from ``numpy.random.default_rng(sample_seed)`` when
    the sample carries ``sample_seed`` (set by
    :meth:`MultiLabelFeatureDataset.set_frame_seed`, i.e. by
    ``FrameSamplingSeedHook``: a function of seed, epoch and sample index,
    so exact on resume and independent of the worker count), else from the
    global ``numpy.random`` state.

    Required keys: ``total_frames``. Added: ``frame_inds`` (int64,
    ``[num_clips * clip_len]``), ``clip_len``, ``num_clips``.

    Args:
        clip_len (int): Frames per clip.
        num_clips (int): Clips (views) per video. Defaults to 1.
        test_mode (bool): Deterministic uniform sampling. Defaults to False.
    """

    def __init__(self,
                 clip_len: int,
                 num_clips: int = 1,
                 test_mode: bool = False) -> None:
        if not isinstance(clip_len, int) or clip_len <= 0:
            raise ValueError(
                f'clip_len must be a positive int, got {clip_len!r}')
        if not isinstance(num_clips, int) or num_clips <= 0:
            raise ValueError(
                f'num_clips must be a positive int, got {num_clips!r}')
        self.clip_len = clip_len
        self.num_clips = num_clips
        self.test_mode = test_mode

    def _train_inds(self, total: int, sample_seed=None) -> np.ndarray:
        size = (self.num_clips, self.clip_len)
        if sample_seed is None:
            inds = np.random.randint(0, total, size=size)
        else:
            rng = np.random.default_rng(np.random.SeedSequence(sample_seed))
            inds = rng.integers(0, total, size=size)
        return np.sort(inds, axis=1).reshape(-1)

    def transform(self, results: dict) -> dict:
        """Set ``frame_inds`` (and ``clip_len`` / ``num_clips``)."""
        total = int(results['total_frames'])
        if total <= 0:
            raise ValueError(f'video {results.get("video_id")!r} has '
                             f'{total} frames')
        if self.test_mode:
            inds = uniform_frame_indices(total, self.clip_len,
                                         self.num_clips)
        else:
            inds = self._train_inds(total, results.get('sample_seed'))
        results['frame_inds'] = inds.astype(np.int64)
        results['clip_len'] = self.clip_len
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'num_clips={self.num_clips}, test_mode={self.test_mode})')
