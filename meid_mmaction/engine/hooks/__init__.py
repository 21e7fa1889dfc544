# Each module registers its component at definition; add one import per module.
from .data_keys_check_hook import DataKeysCheckHook
from .dataset_check_hook import DatasetCheckHook
from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .eval_context_hook import EvalContextHook
from .expert_combination_hook import ExpertCombinationHook
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
    'DataKeysCheckHook',
    'DatasetCheckHook',
    'DeferredRuntimeInfoHook',
    'EvalContextHook',
    'ExpertCombinationHook',
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
