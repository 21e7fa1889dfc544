from .compat import (
                     get_gt_label,
                     get_pred_score,
                     set_gt_label,
                     set_pred_score,
                     to_multi_hot,
)

__all__ = [
    'get_gt_label', 'set_gt_label', 'get_pred_score', 'set_pred_score',
    'to_multi_hot'
]
