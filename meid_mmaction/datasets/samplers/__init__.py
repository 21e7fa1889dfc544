# Each module registers its component at definition; add one import per module.
from ..label_mask import decode_drawn_index, encode_drawn_index  # noqa: F401
from .class_aware_sampler import ClassAwareSampler  # noqa: F401
from .class_balanced_sampler import ClassBalancedSampler  # noqa: F401
from .square_root_sampler import SquareRootSampler  # noqa: F401
