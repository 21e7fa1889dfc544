"""OptimWrapper that logs the gradient norm without a per-step GPU sync."""

from mmaction.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper

from ..deferred_scalars import DeferredGradNormMixin


@OPTIM_WRAPPERS.register_module()
class DeferredLogOptimWrapper(DeferredGradNormMixin, OptimWrapper):
    """mmengine's ``OptimWrapper`` whose ``clip_grad`` logs the gradient
    norm only when a log line is written.

    mmengine's wrapper records ``float(grad_norm)`` at every step, a GPU ->
    host synchronisation; here the norm tensor waits in the queue of
    :mod:`meid_mmaction.engine.deferred_scalars` and
    ``DeferredRuntimeInfoHook`` (``default_runtime.py``) records the
    waiting norms in one transfer at the logging steps. Clipping, gradient
    accumulation and everything else are ``OptimWrapper``'s. ``tools/train.py
    --amp`` turns it into ``DeferredLogAmpOptimWrapper``.

    Args: as ``OptimWrapper``.
    """
