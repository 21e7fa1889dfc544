# Each module registers its component at definition; add one import per module.
from .base_blending import MultiLabelBlending
from .frame_stack import FrameStack
from .multilabel_mixup import MultiLabelMixup

__all__ = ['MultiLabelBlending', 'MultiLabelMixup', 'FrameStack']
