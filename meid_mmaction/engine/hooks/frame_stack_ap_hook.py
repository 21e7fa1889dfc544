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
    classes present in each (possibly stacked) clip: the hard labels ``y >
    0`` of the targets before the head's label smoothing (a head with
    ``label_smooth_eps = eps`` hands the loss ``t = (1 - eps) y + eps / C``,
    every element of which is > 0; the hook inverts it, ``y = (t - eps /
    C) / (1 - eps)``, so the AP is that of the real classes). After
    the epoch the records of all ranks are gathered, the per-class AP
    (scikit-learn's definition; 0 for classes without a positive, as in
    VideoLT) is computed and set on the augmentation, which uses it for the
    next epoch. The AP is a buffer of the model, so the checkpoint written
    after the epoch (``CheckpointHook`` runs later) holds it and
    ``--resume`` continues exactly. Before every training epoch the hook
    also hands the 0-based epoch to the modules with ``set_train_epoch``
    (FrameStack's warm-up). With no ``set_class_ap`` module in the model the
    hook does nothing. It is in ``default_runtime.py``.
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

    @staticmethod
    def hard_labels(
        targets: torch.Tensor, label_smooth_eps: float = 0.0
    ) -> torch.Tensor:
        """Classes present, ``[B, C]`` bool, from the loss targets ``[B, C]``.

        Undoes the head's label smoothing ``t = (1 - eps) y + eps / C``
        first, so ``y > 0`` holds exactly for the real (possibly stacked)
        classes; a tolerance of 1e-6 absorbs the float rounding of ``t``.
        """
        targets = targets.detach().float()
        if label_smooth_eps:
            eps = float(label_smooth_eps)
            targets = (targets - eps / targets.shape[-1]) / (1 - eps)
            return (targets > 1e-6).cpu()
        return (targets > 0).cpu()

    def _recorder(self, head):
        eps = float(getattr(head, 'label_smooth_eps', 0.0) or 0.0)

        def record(module, args, kwargs=None) -> None:
            logits, targets = args[0], args[1]
            self._scores.append(
                torch.sigmoid(logits.detach().float()).half().cpu()
            )
            self._labels.append(self.hard_labels(targets, eps))

        return record

    def before_train_epoch(self, runner) -> None:
        """Start recording the training predictions."""
        self._remove()
        self._scores, self._labels = [], []
        consumers = self._consumers(runner)
        if not consumers:
            return
        for module in consumers:
            if callable(getattr(module, 'set_train_epoch', None)):
                module.set_train_epoch(runner.epoch)
        heads = [
            m
            for m in _unwrap(runner.model).modules()
            if isinstance(getattr(m, 'loss_cls', None), torch.nn.Module)
        ]
        if not heads:
            raise ValueError(
                'FrameStackAPHook: the model has a FrameStack but no head '
                'with a loss_cls module whose inputs give the training '
                'predictions'
            )
        self._handles = [
            head.loss_cls.register_forward_pre_hook(self._recorder(head))
            for head in heads
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
