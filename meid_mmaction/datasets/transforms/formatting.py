"""Pack feature clips and multi-hot labels for the model."""

from typing import Sequence

import torch
from mmaction.registry import TRANSFORMS
from mmaction.structures import ActionDataSample
from mmcv.transforms import BaseTransform

from ...utils.compat import set_gt_label
from ..label_mask import DRAWN_CLASS, set_drawn_class


@TRANSFORMS.register_module()
class PackFeatureInputs(BaseTransform):
    """Pack ``features`` into ``inputs`` ``[num_clips, clip_len, D]`` and the
    labels into an ``ActionDataSample`` with a float multi-hot ``[C]``.

    Required keys: ``features`` (``[num_clips * clip_len, D]``), ``label``
    (list of class indices), ``num_classes``; optional ``num_clips``.
    Without a ``label`` key (an unlabelled video to predict, see
    ``tools/predict.py``) the sample carries no ground truth.
    ``drawn_class`` (set by the dataset for label-masked resampling) is
    always copied into the metainfo, whatever ``meta_keys`` says: the loss
    mask depends on it.

    Args:
        meta_keys (Sequence[str]): Keys copied into the sample's metainfo.
    """

    def __init__(
        self,
        meta_keys: Sequence[str] = (
            'video_id',
            'frame_inds',
            'total_frames',
            'num_clips',
            'clip_len',
        ),
    ) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack ``features`` into ``inputs`` and a data sample."""
        feats = torch.from_numpy(results['features'])
        num_clips = results.get('num_clips', 1)
        inputs = feats.view(num_clips, -1, feats.shape[-1])
        data_sample = ActionDataSample()
        if 'label' in results:
            self._set_label(data_sample, results)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        set_drawn_class(meta, results.get(DRAWN_CLASS))
        data_sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=data_sample)

    @staticmethod
    def _set_label(data_sample: ActionDataSample, results: dict) -> None:
        """Store ``results['label']`` as a float multi-hot ``[C]``."""
        num_classes = results['num_classes']
        label = results['label']
        if len(label) == 0:
            raise ValueError(
                f'video {results.get("video_id")!r} has an empty label'
            )
        target = torch.zeros(num_classes, dtype=torch.float32)
        idx = torch.as_tensor(label, dtype=torch.long)
        if idx.min() < 0 or idx.max() >= num_classes:
            raise ValueError(
                f'label {list(label)} of video {results.get("video_id")!r} '
                f'is outside [0, {num_classes})'
            )
        target[idx] = 1.0
        set_gt_label(data_sample, target)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
