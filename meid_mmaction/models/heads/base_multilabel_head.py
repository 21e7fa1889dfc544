"""Shared loss / prediction logic of the multi-label heads."""

from typing import Dict, Optional, Sequence, Union

import torch
from mmaction.models.heads import BaseHead
from mmaction.utils import SampleList

from ...datasets.feature_batch import FeatureBatchSamples
from ...datasets.label_mask import batch_loss_mask, call_loss
from ...evaluation.metrics.long_tail_map import topk_hits
from ...utils.compat import get_gt_label, set_pred_score, to_multi_hot
from ...utils.transfer import to_device

_AVERAGE_CLIPS = ('prob', 'score')


class BaseMultiLabelHead(BaseHead):
    """Base class of heads trained with multi-hot targets.

    Subclasses implement ``forward`` (returning logits ``[B * V, C]``, ``V``
    views per video). This class turns logits into losses and predictions:

    * ``loss_by_feat``: multi-hot targets ``[B, C]`` (single-label integer
      ground truth is one-hot encoded) and ``loss_cls(logits, targets)``;
      when the batch was drawn by a class-aware sampler with
      ``label_mask=True`` (data samples carry ``drawn_class``), the loss
      gets ``loss_mask=`` ``[B, C]`` (the label mask and the loss contract:
      :mod:`meid_mmaction.datasets.label_mask`);
    * ``predict_by_feat``: ``sigmoid`` scores averaged over the ``V`` views
      of each video, stored with :func:`~meid_mmaction.utils.set_pred_score`.

    MMAction2's ``BaseHead`` options mean here:

    * ``label_smooth_eps``: the loss sees ``(1 - eps) y + eps / C`` (the
      formula of ``BaseHead``, applied to the multi-hot ``y``; the resampling
      mask is computed from ``y`` itself);
    * ``topk``: the training log gets ``top{k}_hit``, the fraction of videos
      whose ``k`` top-scored classes hold a true label (ties towards the lower
      class index, as in ``LongTailMAP``); empty by default;
    * ``average_clips``: ``'prob'`` (sigmoid, default) or ``'score'`` (raw
      logits) averaged over views;
    * ``multi_class``: must stay True.

    Any other value is a ``ValueError`` naming the option.

    Args:
        num_classes (int): Number of classes ``C``.
        in_channels (int): Input feature size ``D``.
        loss_cls (dict): Classification loss config.
        label_smooth_eps (float): Label smoothing in ``[0, 1)``. Defaults
            to 0.
        topk (int | Sequence[int]): ``k`` values of the logged top-k hit
            rates, each in ``[1, C]``. Defaults to ``()`` (none).
        average_clips (str): ``'prob'`` or ``'score'``. Defaults to
            ``'prob'``.
        multi_class (bool): Must be True (the default).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss_cls: dict = dict(type='MultiLabelFocalLoss'),  # noqa: B006
        label_smooth_eps: float = 0.0,
        topk: Union[int, Sequence[int]] = (),
        average_clips: str = 'prob',
        multi_class: bool = True,
        init_cfg=None,
    ) -> None:
        name = type(self).__name__
        if multi_class is not True:
            raise ValueError(
                f'{name} is a multi-label head: multi_class '
                f'must be True, got {multi_class!r}'
            )
        if average_clips not in _AVERAGE_CLIPS:
            raise ValueError(
                f'{name}: average_clips={average_clips!r} is '
                f'not supported; expected one of '
                f'{_AVERAGE_CLIPS}'
            )
        if (
            isinstance(label_smooth_eps, bool)
            or not isinstance(label_smooth_eps, (int, float))
            or not 0.0 <= label_smooth_eps < 1.0
        ):
            raise ValueError(
                f'{name}: label_smooth_eps must be a number in '
                f'[0, 1), got {label_smooth_eps!r}'
            )
        topk = (topk,) if isinstance(topk, int) else tuple(topk)
        if any(
            isinstance(k, bool)
            or not isinstance(k, int)
            or not 1 <= k <= num_classes
            for k in topk
        ):
            raise ValueError(
                f'{name}: topk must be ints in [1, num_classes='
                f'{num_classes}], got {topk!r}'
            )
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls,
            multi_class=True,
            label_smooth_eps=float(label_smooth_eps),
            topk=topk,
            average_clips=average_clips,
            init_cfg=init_cfg,
        )

    def targets_from(
        self, data_samples: SampleList, device: torch.device
    ) -> torch.Tensor:
        """Stack the multi-hot targets of a batch: ``[B, C]`` float (a
        ``FeatureBatchSamples`` gives its label tensor as it is)."""
        if isinstance(data_samples, FeatureBatchSamples):
            return to_device(data_samples.labels.float(), device)
        labels = [
            to_multi_hot(get_gt_label(ds), self.num_classes)
            for ds in data_samples
        ]
        return to_device(torch.stack(labels), device)

    def loss_mask_from(
        self, data_samples: SampleList, targets: torch.Tensor
    ) -> Optional[torch.Tensor]:
        """The label mask ``[B, C]`` of resampling, or None when no sample
        of the batch carries a drawn class (natural sampling):
        :func:`~meid_mmaction.datasets.label_mask.batch_loss_mask` (no host
        synchronisation)."""
        return batch_loss_mask(data_samples, targets, self.num_classes)

    def classification_loss(
        self,
        cls_scores: torch.Tensor,
        targets: torch.Tensor,
        loss_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``loss_cls(cls_scores, targets[, loss_mask=...])``, the targets
        label-smoothed with ``label_smooth_eps``
        (:func:`~meid_mmaction.datasets.label_mask.call_loss`).

        Raises:
            ValueError: if a mask is given and ``loss_cls`` does not declare
                ``accepts_loss_mask = True`` (MMAction2's own losses).
        """
        if self.label_smooth_eps:
            eps = self.label_smooth_eps
            targets = (1 - eps) * targets + eps / self.num_classes
        return call_loss(self.loss_cls, cls_scores, targets, loss_mask)

    def loss_by_feat(
        self, cls_scores: torch.Tensor, data_samples: SampleList
    ) -> Dict[str, torch.Tensor]:
        """Classification loss of logits ``[B, C]`` (masked when the
        samples carry a drawn class, see :meth:`loss_mask_from`) and the
        ``top{k}_hit`` rates of ``topk`` (not losses: logged only). Logits
        in float16 / bfloat16 (mixed precision) are cast to float32 first,
        so every classification loss computes in float32."""
        if cls_scores.dtype in (torch.float16, torch.bfloat16):
            cls_scores = cls_scores.float()
        targets = self.targets_from(data_samples, cls_scores.device)
        if cls_scores.shape != targets.shape:
            raise ValueError(
                f'logits {tuple(cls_scores.shape)} do not match targets '
                f'{tuple(targets.shape)}; training expects one view per '
                'video (num_clips=1)'
            )
        loss_mask = self.loss_mask_from(data_samples, targets)
        losses = dict(
            loss_cls=self.classification_loss(cls_scores, targets, loss_mask)
        )
        if self.topk:
            scores, positive = cls_scores.detach(), targets > 0
            labelled = positive.any(dim=1)
            for k in self.topk:
                hits = topk_hits(scores, positive, k)[labelled]
                losses[f'top{k}_hit'] = (
                    hits.float().mean()
                    if hits.numel()
                    else scores.new_zeros(())
                )
        return losses

    def predict_by_feat(
        self, cls_scores: torch.Tensor, data_samples: SampleList
    ) -> SampleList:
        """Store per-video scores ``[C]`` from logits ``[B * V, C]``."""
        num_views = cls_scores.shape[0] // len(data_samples)
        if num_views * len(data_samples) != cls_scores.shape[0]:
            raise ValueError(
                f'{cls_scores.shape[0]} score rows cannot be split evenly '
                f'into {len(data_samples)} videos'
            )
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
