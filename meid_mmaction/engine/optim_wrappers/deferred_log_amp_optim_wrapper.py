"""AmpOptimWrapper that logs the gradient norm without a per-step GPU sync."""

from mmaction.registry import OPTIM_WRAPPERS
from mmengine.optim import AmpOptimWrapper

from ..deferred_scalars import DeferredGradNormMixin


@OPTIM_WRAPPERS.register_module()
class DeferredLogAmpOptimWrapper(DeferredGradNormMixin, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` (gradients unscaled before clipping,
    as there) with the gradient norm logged as in
    ``DeferredLogOptimWrapper``: queued, recorded at the logging steps.

    The dynamic loss scaler itself still reads whether a gradient was
    infinite at every ``step`` (``torch.amp.GradScaler``: one
    synchronisation per step with float16; that is PyTorch's, not ours).

    Args: as ``AmpOptimWrapper``.
    """
