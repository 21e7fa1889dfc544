# Each module registers its component at definition; add one import per module.
from .frame_sampling_seed_hook import FrameSamplingSeedHook

__all__ = ['FrameSamplingSeedHook']
