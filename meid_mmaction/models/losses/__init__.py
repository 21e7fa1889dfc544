# Each module registers its component at definition; add one import per module.
from .head_tail_distill_loss import HeadTailDistillLoss  # noqa: F401
from .multilabel_focal_loss import MultiLabelFocalLoss, multilabel_focal_loss

__all__ = ['MultiLabelFocalLoss', 'multilabel_focal_loss']
