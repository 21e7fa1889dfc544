# Each module registers its component at definition; add one import per module.
from .long_tail_map import LongTailMAP  # noqa: F401
