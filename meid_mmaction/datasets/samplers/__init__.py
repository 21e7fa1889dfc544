# Each module registers its component at definition; add one import per module.
from .class_aware_sampler import (  # noqa: F401
    ClassAwareSampler,
    decode_drawn_index,
    encode_drawn_index,
)
from .class_balanced_sampler import ClassBalancedSampler  # noqa: F401
from .square_root_sampler import SquareRootSampler  # noqa: F401
