# Each module registers its component at definition; add one import per module.
from .eval_context_hook import EvalContextHook
from .frame_sampling_seed_hook import FrameSamplingSeedHook
from .long_tail_loss_hook import LongTailLossHook

__all__ = ['EvalContextHook', 'FrameSamplingSeedHook', 'LongTailLossHook']
