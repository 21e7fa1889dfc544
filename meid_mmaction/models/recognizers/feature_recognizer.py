"""Recognizer for pre-extracted per-frame features."""

from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmaction.models.recognizers import BaseRecognizer
from mmaction.registry import MODELS
from mmaction.utils import SampleList


def blending_with_head_classes(
    data_preprocessor: Optional[dict], cls_head: dict
) -> Optional[dict]:
    """``data_preprocessor`` whose ``blending`` config has ``num_classes``:
    its own, or else ``cls_head['num_classes']`` (a copy; the input dicts
    are not changed)."""
    if not isinstance(data_preprocessor, dict):
        return data_preprocessor
    blending = data_preprocessor.get('blending')
    if not isinstance(blending, dict) or 'num_classes' in blending:
        return data_preprocessor
    if not isinstance(cls_head, dict) or 'num_classes' not in cls_head:
        return data_preprocessor
    return dict(
        data_preprocessor,
        blending=dict(blending, num_classes=cls_head['num_classes']),
    )


@MODELS.register_module()
class FeatureRecognizer(BaseRecognizer):
    """Recognizer whose inputs are per-frame features, not pixels.

    Inputs are ``[B, V, N, D]`` (``V`` views / clips per video, ``N`` frames,
    ``D`` feature size; ``[B, N, D]`` is read as ``V = 1``). They are reshaped
    to ``[B * V, N, D]``, passed through the optional ``backbone`` (any
    module mapping ``[B * V, N, D]`` to ``[B * V, N', D']``) and then to the
    head with ``num_segs=V``; the head averages its scores over the views.

    Args:
        cls_head (dict): Head config.
        backbone (dict, optional): A module on per-frame features. Defaults
            to None (identity).
        data_preprocessor (dict, optional): Defaults to
            ``FeatureDataPreprocessor`` (``ActionDataPreprocessor`` that
            takes a batched read's views as one tensor; casts to float32).
            A batch ``blending`` (FrameStack, mixup) without ``num_classes``
            gets the head's, so a config states the number of classes once
            (``DatasetCheckHook`` compares both with the data).
    """

    def __init__(
        self,
        cls_head: dict,
        backbone: Optional[dict] = None,
        neck: Optional[dict] = None,
        train_cfg: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
    ) -> None:
        data_preprocessor = blending_with_head_classes(
            data_preprocessor, cls_head
        )
        # BaseRecognizer builds ``backbone`` unconditionally.
        super().__init__(
            backbone=backbone or dict(type=nn.Identity),
            cls_head=cls_head,
            neck=neck,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor
            or dict(type='FeatureDataPreprocessor'),
        )

    def extract_feat(
        self,
        inputs: torch.Tensor,
        stage: str = 'neck',
        data_samples: SampleList = None,
        test_mode: bool = False,
    ) -> Tuple[torch.Tensor, dict]:
        """``[B, V, N, D]`` -> (features ``[B * V, N', D']``, kwargs)."""
        if inputs.dim() == 3:
            inputs = inputs.unsqueeze(1)
        if inputs.dim() != 4:
            raise ValueError(
                'FeatureRecognizer expects inputs [B, V, N, D] '
                f'or [B, N, D], got {tuple(inputs.shape)}'
            )
        num_views = inputs.shape[1]
        x = inputs.reshape((-1,) + inputs.shape[2:])
        x = self.backbone(x)
        if self.with_neck:
            x, _ = self.neck(x, data_samples=data_samples)
        return x, dict(num_segs=num_views)
