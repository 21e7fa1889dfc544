"""The 2D backbone of feature extraction: :class:`FrameExtractor`.

Built from an MMAction2 recognizer config, loaded with the backbone part of
a checkpoint; frames are normalised with the model's ``data_preprocessor``
mean/std and the backbone output is spatially average-pooled to ``[K, D]``.
"""

import re
from typing import Optional, Sequence

import numpy as np
import torch


def normalisation_from_config(cfg, mean=None, std=None, to_rgb=None) -> dict:
    """Mean/std (0-255 scale, per channel) and ``to_rgb`` of the model's
    ``data_preprocessor``; explicit arguments win."""
    pre = cfg.get('model', {}).get('data_preprocessor', None) or {}
    mean = list(mean) if mean is not None else pre.get('mean')
    std = list(std) if std is not None else pre.get('std')
    if to_rgb is None:
        to_rgb = bool(pre.get('to_rgb', False))
    src = getattr(cfg, 'filename', None) or 'the config'
    if mean is None or std is None:
        raise ValueError(
            f'{src}: model.data_preprocessor has no mean/std; '
            'pass --mean and --std (0-255 scale, RGB order)'
        )
    if len(mean) != 3 or len(std) != 3:
        raise ValueError(
            f'mean and std must have 3 values (one per '
            f'channel), got mean={mean}, std={std}'
        )
    if any(s <= 0 for s in std):
        raise ValueError(f'std values must be > 0, got {std}')
    return dict(
        mean=[float(m) for m in mean],
        std=[float(s) for s in std],
        to_rgb=to_rgb,
    )


def build_backbone(
    cfg, checkpoint: Optional[str] = None, random_init: bool = False
) -> torch.nn.Module:
    """Build ``cfg.model.backbone`` and load its weights.

    ``checkpoint`` may be a recognizer checkpoint (``backbone.*`` keys are
    used) or a bare backbone state dict; the keys must match exactly. It is
    read with mmengine's ``CheckpointLoader`` and loaded with mmengine's
    key revision (``revise_keys``: ``module.`` and ``backbone.`` prefixes
    removed) and strict key / shape checks.
    Without a checkpoint, the backbone's own ``pretrained``/``init_cfg`` is
    used if it has one; a backbone with neither needs ``random_init=True``
    (features of a random network are only good for tests).
    """
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    src = getattr(cfg, 'filename', None) or 'the config'
    model_cfg = cfg.get('model', None)
    if not model_cfg or 'backbone' not in model_cfg:
        raise ValueError(
            f'{src}: no model.backbone in the config; expected '
            'a model config with a 2D backbone (e.g. ResNet)'
        )
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    bb_cfg = model_cfg['backbone']
    backbone = MODELS.build(bb_cfg)
    if checkpoint is not None:
        _load_backbone_weights(backbone, checkpoint, src)
    elif bb_cfg.get('pretrained') or bb_cfg.get('init_cfg'):
        backbone.init_weights()
    elif not random_init:
        raise ValueError(
            f'{src}: no --checkpoint and the backbone has no pretrained/'
            'init_cfg: features would come from random weights; pass '
            '--random-init if that is really wanted'
        )
    else:
        backbone.init_weights()
    backbone.eval()  # some backbones' train() does not return self
    return backbone


_REVISE_KEYS = [(r'^module\.', ''), (r'^backbone\.', '')]
_BACKBONE_KEY = re.compile(r'^(module\.)?backbone\.')


def _load_backbone_weights(
    backbone: torch.nn.Module, checkpoint: str, src: str
) -> None:
    """Load a recognizer or bare backbone checkpoint, strictly."""
    from mmengine.runner.checkpoint import (
        CheckpointLoader,
        _load_checkpoint_to_model,
    )

    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if any(_BACKBONE_KEY.match(k) for k in state):
        state = {k: v for k, v in state.items() if _BACKBONE_KEY.match(k)}
    try:
        _load_checkpoint_to_model(
            backbone,
            dict(state_dict=state),
            strict=True,
            logger='silent',
            revise_keys=_REVISE_KEYS,
        )
    except RuntimeError as err:
        text = ' '.join(str(err).split())
        raise ValueError(
            f'{checkpoint}: weights do not match the backbone '
            f'of {src}: {text[:1000]}'
        ) from None


class FrameExtractor:
    """Turn decoded frames into pooled backbone features.

    Args:
        backbone (nn.Module): 2D backbone: ``[N, 3, H, W]`` ->
            ``[N, D, h, w]`` (or a tuple of such maps; the last is used).
        mean, std (list[float]): per-channel normalisation, 0-255 scale.
        to_rgb (bool): flip the channel order first (as MMAction2's
            ``data_preprocessor`` does).
        device (str): where the backbone runs.
    """

    def __init__(
        self,
        backbone: torch.nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        to_rgb: bool = False,
        device: str = 'cpu',
    ) -> None:
        self.device = torch.device(device)
        self.backbone = backbone.to(self.device)
        self.backbone.eval()
        self.mean = torch.tensor(
            mean, dtype=torch.float32, device=self.device
        ).view(1, 3, 1, 1)
        self.std = torch.tensor(
            std, dtype=torch.float32, device=self.device
        ).view(1, 3, 1, 1)
        self.to_rgb = to_rgb

    @torch.inference_mode()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """``[N, H, W, 3]`` uint8 RGB -> ``[N, D]`` float32 features."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        x = x.permute(0, 3, 1, 2).float()
        if self.to_rgb:
            x = x.flip(1)
        x = (x - self.mean) / self.std
        out = self.backbone(x)
        if isinstance(out, (tuple, list)):
            out = out[-1]
        if out.dim() == 4:
            out = out.mean(dim=(2, 3))
        elif out.dim() != 2:
            raise ValueError(
                f'the backbone returned shape {tuple(out.shape)} for '
                f'{tuple(x.shape)} frames; expected a 2D backbone giving '
                '[N, D, h, w] (or [N, D])'
            )
        return out.float().cpu().numpy()
