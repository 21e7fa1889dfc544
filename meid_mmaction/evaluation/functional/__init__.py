# Each module registers its component at definition; add one import per module.
from .average_precision import average_precision, mean_ap  # noqa: F401
from .expert_combination import (  # noqa: F401
    COMBINATION_FORMS,
    CombinationChoice,
    choose_combination,
    combination_candidates,
    format_choice_table,
)
from .long_tail import LongTailResult, long_tail_map  # noqa: F401
