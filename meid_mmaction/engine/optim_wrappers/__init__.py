# Each module registers its component at definition; add one import per module.
from .deferred_log_amp_optim_wrapper import DeferredLogAmpOptimWrapper
from .deferred_log_optim_wrapper import DeferredLogOptimWrapper

__all__ = ['DeferredLogOptimWrapper', 'DeferredLogAmpOptimWrapper']
