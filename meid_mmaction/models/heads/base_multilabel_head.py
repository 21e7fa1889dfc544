"""Shared loss / prediction logic of the multi-label heads."""
from typing import Dict

import torch
from mmaction.models.heads import BaseHead
from mmaction.utils import SampleList

from ...utils.compat import get_gt_label, set_pred_score, to_multi_hot


class BaseMultiLabelHead(BaseHead):
    """Base class of heads trained with multi-hot targets.

    Subclasses implement ``forward`` (returning logits ``[B * V, C]``, ``V``
    views per video). This class turns logits into losses and predictions:

    * ``loss_by_feat``: multi-hot targets ``[B, C]`` (single-label integer
      ground truth is one-hot encoded) and ``loss_cls(logits, targets)``;
    * ``predict_by_feat``: ``sigmoid`` scores averaged over the ``V`` views
      of each video, stored with :func:`~meid_mmaction.utils.set_pred_score`.

    Args:
        num_classes (int): Number of classes ``C``.
        in_channels (int): Input feature size ``D``.
        loss_cls (dict): Classification loss config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_cls: dict = dict(type='MultiLabelFocalLoss'),
                 init_cfg=None,
                 **kwargs) -> None:
        kwargs.setdefault('multi_class', True)
        kwargs.setdefault('average_clips', 'prob')
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls,
            init_cfg=init_cfg,
            **kwargs)

    def targets_from(self, data_samples: SampleList,
                     device: torch.device) -> torch.Tensor:
        """Stack the multi-hot targets of a batch: ``[B, C]`` float."""
        labels = [
            to_multi_hot(get_gt_label(ds), self.num_classes)
            for ds in data_samples
        ]
        return torch.stack(labels).to(device)

    def loss_by_feat(self, cls_scores: torch.Tensor,
                     data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """Classification loss of logits ``[B, C]``."""
        targets = self.targets_from(data_samples, cls_scores.device)
        if cls_scores.shape != targets.shape:
            raise ValueError(
                f'logits {tuple(cls_scores.shape)} do not match targets '
                f'{tuple(targets.shape)}; training expects one view per '
                'video (num_clips=1)')
        return dict(loss_cls=self.loss_cls(cls_scores, targets))

    def predict_by_feat(self, cls_scores: torch.Tensor,
                        data_samples: SampleList) -> SampleList:
        """Store per-video scores ``[C]`` from logits ``[B * V, C]``."""
        num_views = cls_scores.shape[0] // len(data_samples)
        if num_views * len(data_samples) != cls_scores.shape[0]:
            raise ValueError(
                f'{cls_scores.shape[0]} score rows cannot be split evenly '
                f'into {len(data_samples)} videos')
        scores = self.scores_from_logits(cls_scores)
        scores = scores.view(len(data_samples), num_views, -1).mean(dim=1)
        for data_sample, score in zip(data_samples, scores):
            set_pred_score(data_sample, score.detach())
        return data_samples

    def scores_from_logits(self, cls_scores: torch.Tensor) -> torch.Tensor:
        """Per-class probabilities from logits (sigmoid by default)."""
        if self.average_clips == 'score':
            return cls_scores
        return torch.sigmoid(cls_scores)
