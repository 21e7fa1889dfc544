# Each module registers its component at definition; add one import per module.
from .aggregator_cls_head import AggregatorClsHead
from .base_multilabel_head import BaseMultiLabelHead
from .meid_head import MEIDHead  # noqa: F401
from .nonlinear_cls_head import NonlinearClsHead

__all__ = ['AggregatorClsHead', 'BaseMultiLabelHead', 'NonlinearClsHead']
