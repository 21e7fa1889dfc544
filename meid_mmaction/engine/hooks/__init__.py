# Each module registers its component at definition; add one import per module.
from .dataset_check_hook import DatasetCheckHook
from .eval_context_hook import EvalContextHook
from .frame_sampling_seed_hook import FrameSamplingSeedHook
from .frame_stack_ap_hook import FrameStackAPHook
from .long_tail_loss_hook import LongTailLossHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .rng_state_hook import RNGStateHook
from .stage_checkpoint_hook import (
    CHECKPOINT_CHOICES,
    StageCheckpointHook,
    find_checkpoint,
)

__all__ = [
    'DatasetCheckHook',
    'EvalContextHook',
    'FrameSamplingSeedHook',
    'FrameStackAPHook',
    'LongTailLossHook',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'RNGStateHook',
    'StageCheckpointHook',
    'CHECKPOINT_CHOICES',
    'find_checkpoint',
]
