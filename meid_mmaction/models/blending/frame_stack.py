"""FrameStack (VideoLT): stack frames of two videos, more of the harder."""

from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmaction.registry import MODELS

from ...utils.transfer import to_device
from .base_blending import (
    MultiLabelBlending,
    check_prob,
    endpoint_frame_positions,
)

_EPS = 1e-5


@MODELS.register_module()
class FrameStack(MultiLabelBlending):
    """AP-driven frame stacking of VideoLT (``docs/method.md``).

    Per-class training APs ``AP_c`` (buffer ``class_ap`` ``[C]``, zeros
    until ``FrameStackAPHook`` sets the previous epoch's) give each video a
    score ``ap_i = sum_c y_ic AP_c / C``. In each batch the first
    ``int(ratio * B)`` videos are each paired with a partner ``j`` drawn by
    a random permutation of those videos; with ``beta = ap_i / (ap_i +
    ap_j)`` (0.5 when the sum is below 1e-5) the new clip of ``L = N``
    frames is ``int(beta * L)`` uniformly spaced frames of the partner
    followed by ``L - int(beta * L)`` of the video itself (indices
    ``floor(linspace(0, N - 1, k))``), with target ``(1 - beta) y_i +
    beta y_j``. The other videos are left as they are. A video whose
    classes already have a high AP thus gives more of its clip to its
    partner.

    Inputs are ``[B, 1, N, D]`` (one view, as training pipelines give) or
    ``[B, N, D]``; the clip length stays ``N`` (set it with the training
    pipeline's ``clip_len``, VideoLT: 60). Use as
    ``data_preprocessor=dict(type='ActionDataPreprocessor',
    blending=dict(type='FrameStack', num_classes=C))``; the AP hook is in
    ``default_runtime.py``.

    Warm-up (VideoLT's ``--warm_epoch``): while the (0-based) training
    epoch is ``<= warm_epoch`` no video is stacked (VideoLT's scripts:
    ``warm_epoch=0``, so epoch 0 trains on plain clips). The epoch is the
    buffer ``epoch``, set by ``FrameStackAPHook`` before every training
    epoch (:meth:`set_train_epoch`); ``warm_epoch=None`` stacks from the
    first step.

    Args:
        num_classes (int): Number of classes ``C`` (the configs leave it out:
            the ``num_classes`` data key fills it, see
            :func:`~meid_mmaction.utils.data_keys.apply_data_keys`).
        ratio (float): Share of each batch that is stacked. Defaults to 0.5
            (VideoLT: the first half).
        seed (int): Seed of the pairing draws. Defaults to 0.
        warm_epoch (int, optional): Last epoch without stacking (0-based);
            None: none. Defaults to None.
    """

    def __init__(
        self,
        num_classes: int,
        ratio: float = 0.5,
        seed: int = 0,
        warm_epoch: Optional[int] = None,
    ) -> None:
        super().__init__(num_classes, seed)
        self.ratio = check_prob('ratio', ratio)
        if warm_epoch is not None and (
            isinstance(warm_epoch, bool)
            or not isinstance(warm_epoch, int)
            or warm_epoch < 0
        ):
            raise ValueError(
                f'warm_epoch must be an int >= 0 or None, got {warm_epoch!r}'
            )
        self.warm_epoch = warm_epoch
        self.register_buffer('class_ap', torch.zeros(num_classes))
        self.register_buffer('epoch', torch.zeros((), dtype=torch.long))

    def set_train_epoch(self, epoch: int) -> None:
        """The (0-based) training epoch about to run (warm-up switch)."""
        self.epoch.fill_(int(epoch))

    @property
    def stacking(self) -> bool:
        """Whether this epoch stacks (False during the warm-up epochs)."""
        return self.warm_epoch is None or int(self.epoch) > self.warm_epoch

    def set_class_ap(self, ap: Union[Sequence[float], torch.Tensor]) -> None:
        """Take the per-class training AP ``[C]`` for the next epoch."""
        ap = torch.as_tensor(ap, dtype=torch.float32).flatten()
        if ap.numel() != self.num_classes:
            raise ValueError(
                f'FrameStack: got {ap.numel()} class APs, '
                f'expected num_classes={self.num_classes}'
            )
        if (
            not bool(torch.isfinite(ap).all())
            or bool((ap < 0).any())
            or bool((ap > 1).any())
        ):
            raise ValueError(
                'FrameStack: class APs must be finite values in [0, 1]'
            )
        self.class_ap.copy_(ap.to(self.class_ap.device))

    def plan(
        self, targets: torch.Tensor, num_frames: int, rng: np.random.Generator
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pairs, betas and the frame gather of one batch, on the device of
        ``targets``.

        Only the permutation is drawn on the host (its length is known
        there); the betas and the frame indices are computed on the device
        (float64, the operations of VideoLT's numpy code), so nothing is
        read back to the host.

        Args:
            targets (torch.Tensor): ``[B, C]``.
            num_frames (int): ``N = L``.
            rng (np.random.Generator): This step's generator.

        Returns:
            tuple: ``partner`` ``[S]`` long (``S`` stacked videos), ``beta``
            ``[S]`` float64, ``src_video`` ``[S, L]`` and ``src_frame``
            ``[S, L]`` long: stacked clip ``i`` takes frame
            ``src_frame[i, t]`` of video ``src_video[i, t]``.
        """
        dev = targets.device
        num_stack = int(self.ratio * targets.shape[0])
        partner = to_device(torch.from_numpy(rng.permutation(num_stack)), dev)
        ap_sum = (
            targets.detach().double() * self.class_ap.detach().double()
        ).sum(1)
        # tensor / tensor: CUDA divides by a scalar as a multiplication by
        # its reciprocal, which may differ from numpy's division in the last
        # bit
        ap_video = ap_sum / torch.full_like(ap_sum, float(self.num_classes))
        ap_i, ap_j = ap_video[:num_stack], ap_video[partner]
        total = ap_i + ap_j
        betas = torch.where(total < _EPS, 0.5, ap_i / total)
        # int(beta * L): beta >= 0, so truncation is the floor
        from_partner = (betas * num_frames).long()[:, None]  # [S, 1]
        t = torch.arange(num_frames, device=dev)[None]  # [1, L]
        from_self = num_frames - from_partner
        take_partner = t < from_partner
        src_video = torch.where(
            take_partner,
            partner[:, None],
            torch.arange(num_stack, device=dev)[:, None],
        )
        src_frame = torch.where(
            take_partner,
            endpoint_frame_positions(num_frames, t, from_partner),
            endpoint_frame_positions(num_frames, t - from_partner, from_self),
        )
        return partner, betas, src_video, src_frame

    def blend(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        rng: np.random.Generator,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Stack the first ``int(ratio * B)`` videos with their partners
        (none during the warm-up epochs)."""
        if not self.stacking:
            return inputs, targets
        squeeze = inputs.dim() == 4
        if squeeze:
            if inputs.shape[1] != 1:
                raise ValueError(
                    'FrameStack expects one view per training video, got '
                    f'inputs {tuple(inputs.shape)} [B, V, N, D]'
                )
            inputs = inputs[:, 0]
        if inputs.dim() != 3:
            raise ValueError(
                'FrameStack expects [B, 1, N, D] or [B, N, D] '
                f'features, got {tuple(inputs.shape)}'
            )
        partner, betas, src_video, src_frame = self.plan(
            targets, inputs.shape[1], rng
        )
        num_stack = len(partner)
        out, new_targets = inputs.clone(), targets.clone()
        if num_stack:
            out[:num_stack] = inputs[src_video, src_frame]
            beta = betas.to(targets)[:, None]
            new_targets[:num_stack] = (1 - beta) * targets[
                :num_stack
            ] + beta * targets[partner]
        return (out.unsqueeze(1) if squeeze else out), new_targets

    def extra_repr(self) -> str:
        """Shown in ``print(model)``."""
        return (
            super().extra_repr()
            + f', ratio={self.ratio}, warm_epoch={self.warm_epoch}'
        )
