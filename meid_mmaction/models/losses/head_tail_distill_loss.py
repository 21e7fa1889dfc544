"""Head-to-tail distillation loss of MEID (docs/method.md, "Head-to-tail
distillation loss").

The logits of the head classes and of the tail classes each go through a
small linear "neck" to a common width ``K``; the loss is the distance between
the per-unit batch variances of the two neck outputs.
"""

import math
from typing import Dict, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

from meid_mmaction.datasets.class_groups import check_group_indices

_DISTANCES = ('l2', 'mse')
NECK_MODES = ('free', 'frozen', 'unit')


def head_tail_distill_loss(
    head_feats: torch.Tensor, tail_feats: torch.Tensor, distance: str = 'l2'
) -> torch.Tensor:
    """Distance between the batch variances of two neck outputs.

    ``Var`` is the population variance over the batch axis (divided by
    ``B``, so a batch of one gives a variance of 0 instead of NaN).

    Args:
        head_feats (torch.Tensor): Neck output of the head classes ``[B, K]``.
        tail_feats (torch.Tensor): Neck output of the tail classes ``[B, K]``.
        distance (str): ``'l2'``: ``||Var(h) - Var(t)||_2`` (default);
            ``'mse'``: ``mean_k (Var(h)_k - Var(t)_k) ** 2``.

    Returns:
        torch.Tensor: Scalar loss.
    """
    if distance not in _DISTANCES:
        raise ValueError(
            f'distance={distance!r} is not supported; expected '
            f'one of {_DISTANCES}'
        )
    if head_feats.dim() != 2 or head_feats.shape != tail_feats.shape:
        raise ValueError(
            'head_feats and tail_feats must both be [B, K] '
            f'with the same shape, got '
            f'{tuple(head_feats.shape)} and '
            f'{tuple(tail_feats.shape)}'
        )
    if head_feats.dtype in (torch.float16, torch.bfloat16):
        # mixed precision: variances of [B, K] in float32
        head_feats, tail_feats = head_feats.float(), tail_feats.float()
    diff = head_feats.var(dim=0, unbiased=False) - tail_feats.var(
        dim=0, unbiased=False
    )
    if distance == 'l2':
        # vector_norm has a zero (not NaN) gradient at the origin.
        return torch.linalg.vector_norm(diff, ord=2)
    return diff.pow(2).mean()


@MODELS.register_module()
class HeadTailDistillLoss(nn.Module):
    """Head-to-tail distillation loss with its two necks.

    The necks are ``Linear(C, K)`` layers applied to the logits masked to the
    head (resp. tail) classes; on the used columns this is the same map as
    ``Linear(|head|, K)`` applied to ``Y[:, head]``. They are created here,
    at construction, so that the optimizer built by the runner owns them.
    The class groups are not configuration: a training loop (or the user)
    calls :meth:`set_class_groups` with the dataset's published
    ``metainfo['class_groups']`` before training. The masks are buffers and
    travel with checkpoints.

    Args:
        num_classes (int): Number of classes ``C``.
        neck_channels (int): Neck width ``K``. Defaults to 128.
        distance (str): ``'l2'`` (default) or ``'mse'``, see
            :func:`head_tail_distill_loss`.
        loss_weight (float): Weight of the loss (``lambda``). Defaults to 0.1.
        neck_mode (str): How the necks may change (docs/benchmarks.md: free
            necks shrink towards 0, which cancels the loss without
            equalising the logit variances):

            * ``'free'`` (paper, default): trained with the expert;
            * ``'frozen'`` (ours): kept at their random initialisation (the
              parameters exist, so checkpoints keep their shape, but get no
              gradient); the loss can only change the logits;
            * ``'unit'`` (ours): trained, but each output unit's weight row
              (over the group's classes) is normalised to unit L2 norm, so
              the necks cannot scale the variances away.
    """

    def __init__(
        self,
        num_classes: int,
        neck_channels: int = 128,
        distance: str = 'l2',
        loss_weight: float = 0.1,
        neck_mode: str = 'free',
    ) -> None:
        super().__init__()
        if distance not in _DISTANCES:
            raise ValueError(
                f'distance={distance!r} is not supported; '
                f'expected one of {_DISTANCES}'
            )
        if neck_mode not in NECK_MODES:
            raise ValueError(
                f'neck_mode={neck_mode!r} is not supported; '
                f'expected one of {NECK_MODES}'
            )
        self.neck_mode = neck_mode
        if int(num_classes) < 1 or int(neck_channels) < 1:
            raise ValueError(
                'num_classes and neck_channels must be >= 1, '
                f'got {num_classes} and {neck_channels}'
            )
        self.num_classes = int(num_classes)
        self.neck_channels = int(neck_channels)
        self.distance = distance
        self.loss_weight = float(loss_weight)
        self.neck_head = nn.Linear(self.num_classes, self.neck_channels)
        self.neck_tail = nn.Linear(self.num_classes, self.neck_channels)
        self.register_buffer('head_mask', torch.zeros(self.num_classes))
        self.register_buffer('tail_mask', torch.zeros(self.num_classes))
        # 1 once set_class_groups has run (persisted in checkpoints).
        self.register_buffer('groups_set', torch.zeros((), dtype=torch.long))
        # Host copy of ``groups_set`` (no GPU sync in ``forward``).
        self._groups_set = False

    @property
    def has_class_groups(self) -> bool:
        """Whether the head / tail groups have been set."""
        return self._groups_set

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Load as usual, then refresh the host copy of ``groups_set``."""
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._groups_set = bool(self.groups_set.item())

    def set_class_groups(self, class_groups: Dict[str, Sequence[int]]) -> None:
        """Fill the head / tail masks from a dataset's class grouping.

        Args:
            class_groups (dict): ``{'head': [...], 'tail': [...], ...}``
                (``'medium'`` is ignored), as published in a dataset's
                ``metainfo['class_groups']``.

        The first call on a module whose groups were never set re-initialises
        each neck like ``nn.Linear`` with the fan-in of its group (the unused
        columns are zeroed). Later calls (for example after a checkpoint was
        loaded) only update the masks, so trained necks are kept.
        """
        checked = check_group_indices(
            class_groups, self.num_classes, names=('head', 'tail')
        )
        head, tail = checked['head'], checked['tail']
        overlap = sorted(set(head) & set(tail))
        if overlap:
            raise ValueError(
                'class_groups head and tail overlap in classes '
                f'{overlap[:10]}; expected disjoint groups'
            )
        device = self.head_mask.device
        head_mask = torch.zeros(self.num_classes, device=device)
        tail_mask = torch.zeros(self.num_classes, device=device)
        head_mask[head] = 1.0
        tail_mask[tail] = 1.0
        with torch.no_grad():
            self.head_mask.copy_(head_mask)
            self.tail_mask.copy_(tail_mask)
            if not self.has_class_groups:
                self._init_neck(self.neck_head, head_mask)
                self._init_neck(self.neck_tail, tail_mask)
            self.groups_set.fill_(1)
            self._groups_set = True

    @staticmethod
    def _init_neck(neck: nn.Linear, mask: torch.Tensor) -> None:
        fan_in = max(int(mask.sum().item()), 1)  # once, at set-up
        bound = 1.0 / math.sqrt(fan_in)
        neck.weight.uniform_(-bound, bound)
        neck.weight.mul_(mask)
        neck.bias.uniform_(-bound, bound)

    def _neck(
        self, neck: nn.Linear, mask: torch.Tensor, logits: torch.Tensor
    ) -> torch.Tensor:
        weight, bias = neck.weight, neck.bias
        if self.neck_mode == 'frozen':
            weight, bias = weight.detach(), bias.detach()
        elif self.neck_mode == 'unit':
            weight = weight * mask
            weight = weight / weight.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return F.linear(logits * mask, weight, bias)

    def necks(self, logits: torch.Tensor):
        """Neck outputs ``([B, K], [B, K])`` of logits ``[B, C]``."""
        return (
            self._neck(self.neck_head, self.head_mask, logits),
            self._neck(self.neck_tail, self.tail_mask, logits),
        )

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """Weighted distillation loss of logits ``[B, C]`` (scalar)."""
        if not self.has_class_groups:
            raise ValueError(
                'HeadTailDistillLoss: the head/tail class groups were never '
                'set; train with TwoStageTrainLoop (it reads '
                "train_dataloader.dataset.metainfo['class_groups']) or call "
                'set_class_groups() first'
            )
        if logits.dim() != 2 or logits.shape[1] != self.num_classes:
            raise ValueError(
                f'logits must be [B, {self.num_classes}], got '
                f'{tuple(logits.shape)}'
            )
        head_feats, tail_feats = self.necks(logits)
        loss = head_tail_distill_loss(head_feats, tail_feats, self.distance)
        return self.loss_weight * loss
