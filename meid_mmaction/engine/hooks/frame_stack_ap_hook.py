"""Per-class training AP for FrameStack, measured over each epoch."""

from typing import List

import torch
from mmaction.registry import HOOKS
from mmengine.dist import all_gather, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...evaluation.functional import average_precision


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``[n_r, C]`` tensors of all ranks (``n_r`` may differ)."""
    if get_world_size() == 1:
        return tensor
    sizes = all_gather(torch.tensor([tensor.shape[0]]))
    longest = int(max(int(s) for s in sizes))
    padded = tensor.new_zeros((longest,) + tuple(tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = all_gather(padded)
    return torch.cat([p[: int(s)].cpu() for p, s in zip(parts, sizes)])


@HOOKS.register_module()
class FrameStackAPHook(Hook):
    """Measure per-class AP on the training predictions of each epoch and
    hand it to every module with ``set_class_ap`` (``FrameStack``).

    During an epoch a forward pre-hook on each head's ``loss_cls`` records
    the scores ``sigmoid(logits)`` ``[B, C]`` (float16, CPU) and the
    classes present in each (possibly stacked) clip, ``targets > 0``. After
    the epoch the records of all ranks are gathered, the per-class AP
    (scikit-learn's definition; 0 for classes without a positive, as in
    VideoLT) is computed and set on the augmentation, which uses it for the
    next epoch. The AP is a buffer of the model, so the checkpoint written
    after the epoch (``CheckpointHook`` runs later) holds it and
    ``--resume`` continues exactly. With no ``set_class_ap`` module in the
    model the hook does nothing. It is in ``default_runtime.py``.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._handles: List = []
        self._scores: List[torch.Tensor] = []
        self._labels: List[torch.Tensor] = []

    @staticmethod
    def _consumers(runner) -> list:
        return [
            m
            for m in _unwrap(runner.model).modules()
            if callable(getattr(m, 'set_class_ap', None))
        ]

    def _record(self, module, args, kwargs=None) -> None:
        logits, targets = args[0], args[1]
        self._scores.append(
            torch.sigmoid(logits.detach().float()).half().cpu()
        )
        self._labels.append((targets.detach() > 0).cpu())

    def before_train_epoch(self, runner) -> None:
        """Start recording the training predictions."""
        self._remove()
        self._scores, self._labels = [], []
        if not self._consumers(runner):
            return
        losses = [
            m.loss_cls
            for m in _unwrap(runner.model).modules()
            if isinstance(getattr(m, 'loss_cls', None), torch.nn.Module)
        ]
        if not losses:
            raise ValueError(
                'FrameStackAPHook: the model has a FrameStack but no head '
                'with a loss_cls module whose inputs give the training '
                'predictions'
            )
        self._handles = [
            loss.register_forward_pre_hook(self._record) for loss in losses
        ]

    def after_train_epoch(self, runner) -> None:
        """Compute the epoch's per-class AP and hand it over."""
        consumers = self._consumers(runner)
        handles = self._handles
        self._remove()
        if not consumers or not handles:
            return
        num_classes = consumers[0].num_classes
        scores = (
            torch.cat(self._scores)
            if self._scores
            else torch.zeros(0, num_classes, dtype=torch.half)
        )
        labels = (
            torch.cat(self._labels)
            if self._labels
            else torch.zeros(0, num_classes, dtype=torch.bool)
        )
        self._scores, self._labels = [], []
        scores, labels = gather_rows(scores), gather_rows(labels)
        if scores.shape[0] == 0:
            return
        ap = average_precision(scores.float(), labels)
        ap = torch.nan_to_num(ap, nan=0.0).float()
        for module in consumers:
            module.set_class_ap(ap)

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
