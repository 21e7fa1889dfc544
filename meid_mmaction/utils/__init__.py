from .compat import (
    get_gt_label,
    get_pred_score,
    set_gt_label,
    set_pred_score,
    to_multi_hot,
)
from .data_keys import DATA_KEYS, apply_data_keys, check_data_keys

__all__ = [
    'get_gt_label',
    'set_gt_label',
    'get_pred_score',
    'set_pred_score',
    'to_multi_hot',
    'DATA_KEYS',
    'apply_data_keys',
    'check_data_keys',
]
