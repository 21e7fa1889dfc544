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

from meid_mmaction.datasets.transforms.sampling import uniform_frame_indices

from .backbone import FrameExtractor, build_backbone, normalisation_from_config
from .run import REPORT_FILE, extract_features
from .video import VIDEO_EXTS, find_videos, read_video_frames, resize_crop

__all__ = [
    'REPORT_FILE',
    'VIDEO_EXTS',
    'FrameExtractor',
    'build_backbone',
    'extract_features',
    'find_videos',
    'normalisation_from_config',
    'read_video_frames',
    'resize_crop',
    'uniform_frame_indices',
]
