"""Compatibility helpers across MMAction2 versions.

MMAction2 1.1 stores labels as ``LabelData`` fields (``gt_labels.item``,
``pred_scores.item``); MMAction2 1.2 stores plain tensors (``gt_label``,
``pred_score``). All code in this package reads and writes labels and scores
through these helpers only.
"""

from typing import Mapping, Union

import torch
from mmaction.structures import ActionDataSample
from mmengine.structures import LabelData

_V12_GT = 'gt_label'
_V11_GT = 'gt_labels'
_V12_PRED = 'pred_score'
_V11_PRED = 'pred_scores'


def _uses_v12_fields() -> bool:
    """Whether the installed ``ActionDataSample`` has the 1.2 field names."""
    return not hasattr(ActionDataSample, _V11_GT)


USES_V12_FIELDS = _uses_v12_fields()


def _as_tensor(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, int):
        return torch.tensor([value], dtype=torch.long)
    return torch.as_tensor(value)


def _unwrap(value):
    # mmengine LabelData (1.1) keeps the tensor in ``.item``; mmengine's
    # Evaluator hands metrics ``data_sample.to_dict()``, where such a field
    # becomes ``{'item': tensor}``.
    if isinstance(value, LabelData):
        return value.item
    if isinstance(value, Mapping) and 'item' in value:
        return value['item']
    return value


def get_gt_label(data_sample: ActionDataSample) -> torch.Tensor:
    """Return the ground-truth label tensor of a data sample.

    Raises:
        KeyError: if the sample carries no ground truth.
    """
    for key in (_V12_GT, _V11_GT):
        if key in data_sample:
            return _unwrap(data_sample.get(key))
    raise KeyError(
        'data sample has no ground-truth label '
        f"(neither '{_V12_GT}' nor '{_V11_GT}'); "
        f'fields present: {sorted(data_sample.keys())}'
    )


def set_gt_label(
    data_sample: ActionDataSample, label: Union[torch.Tensor, list, int]
) -> ActionDataSample:
    """Store a ground-truth label (int, index list or multi-hot tensor)."""
    label = _as_tensor(label)
    if USES_V12_FIELDS:
        data_sample.set_field(label, _V12_GT, dtype=torch.Tensor)
    else:
        data_sample.set_field(LabelData(item=label), _V11_GT, dtype=LabelData)
    return data_sample


def get_pred_score(data_sample: ActionDataSample) -> torch.Tensor:
    """Return the predicted score tensor ``[C]`` of a data sample."""
    for key in (_V12_PRED, _V11_PRED):
        if key in data_sample:
            return _unwrap(data_sample.get(key))
    raise KeyError(
        'data sample has no prediction '
        f"(neither '{_V12_PRED}' nor '{_V11_PRED}'); "
        f'fields present: {sorted(data_sample.keys())}'
    )


def set_pred_score(
    data_sample: ActionDataSample, score: torch.Tensor
) -> ActionDataSample:
    """Store predicted scores ``[C]`` in the installed version's field."""
    score = _as_tensor(score)
    if USES_V12_FIELDS:
        data_sample.set_field(score, _V12_PRED, dtype=torch.Tensor)
    else:
        data_sample.set_field(
            LabelData(item=score), _V11_PRED, dtype=LabelData
        )
    return data_sample


def to_multi_hot(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Turn a label into a float multi-hot vector ``[C]``.

    Accepts a multi-hot / soft (float or bool) vector of length
    ``num_classes`` (returned as float), or integer class indices (a scalar,
    ``[1]`` or ``[k]``).
    """
    label = torch.as_tensor(label)
    if label.dtype == torch.bool:
        # A boolean vector is a multi-hot mask, never class indices.
        label = label.float()
    if (
        label.is_floating_point()
        and label.dim() == 1
        and label.numel() == num_classes
    ):
        return label.float()
    if label.is_floating_point():
        raise ValueError(
            f'float label of shape {tuple(label.shape)} is not a multi-hot '
            f'vector of length num_classes={num_classes}'
        )
    idx = label.reshape(-1).long()
    if idx.numel() and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f'label {idx.tolist()} is outside [0, {num_classes})')
    out = torch.zeros(num_classes, dtype=torch.float32, device=label.device)
    out[idx] = 1.0
    return out
