# Each module registers its component at definition; add one import per module.
from ...datasets.label_mask import resampling_loss_mask
from .class_balanced_loss import ClassBalancedLoss, class_balanced_loss
from .eql_loss import EQLLoss, eql_loss
from .head_tail_distill_loss import HeadTailDistillLoss  # noqa: F401
from .ldam_loss import LDAMLoss, ldam_loss, ldam_margins
from .multilabel_focal_loss import MultiLabelFocalLoss, multilabel_focal_loss
from .utils import class_balanced_weights, reduce_loss

__all__ = [
    'MultiLabelFocalLoss',
    'multilabel_focal_loss',
    'ClassBalancedLoss',
    'class_balanced_loss',
    'LDAMLoss',
    'ldam_loss',
    'ldam_margins',
    'EQLLoss',
    'eql_loss',
    'class_balanced_weights',
    'reduce_loss',
    'resampling_loss_mask',
]
