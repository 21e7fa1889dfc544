# Each module registers its component at definition; add one import per module.
from .two_stage_train_loop import TwoStageTrainLoop  # noqa: F401
