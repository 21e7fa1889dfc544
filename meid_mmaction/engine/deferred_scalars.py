"""Scalars logged without a GPU -> host synchronisation per step.

mmengine converts every logged tensor to a Python number when it is
recorded (``MessageHub.update_scalar`` calls ``.item()``; ``OptimWrapper``
calls ``float(grad_norm)``), i.e. one GPU synchronisation per logged value
and training step, although the values are only read when ``LoggerHook``
writes a log line. Here they wait, as tensors, in a queue per message hub
(:func:`defer_scalar`) and are recorded in one transfer (:func:`flush_scalars`:
one ``stack(...).tolist()`` per device and dtype) at the steps that log. The
message hub then holds exactly the values, in the same order, that mmengine
would have recorded one by one.

Used by ``DeferredRuntimeInfoHook`` (losses, flushes at logging steps) and
``DeferredLogOptimWrapper`` / ``DeferredLogAmpOptimWrapper`` (gradient norm).
"""

from collections import defaultdict
from typing import Dict, List, Tuple

import torch
from mmengine.logging import MessageHub

# Values waiting per message hub (by instance name): ``(key, value)``.
_QUEUES: Dict[str, List[Tuple[str, object]]] = defaultdict(list)

#: A queue this long is flushed at once (bounds memory when nothing flushes,
#: e.g. a wrapper used without ``DeferredRuntimeInfoHook``).
MAX_PENDING = 1000


def defer_scalar(message_hub: MessageHub, key: str, value) -> None:
    """Queue ``message_hub.update_scalar(key, value)`` for the next flush.

    Args:
        message_hub (MessageHub): Where the value is recorded.
        key (str): Its key (e.g. ``'train/loss'``).
        value (torch.Tensor | float | int): A one-element tensor (kept,
            detached, on its device) or a number.
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f'defer_scalar: {key!r} must have one element, got shape '
                f'{tuple(value.shape)}'
            )
        value = value.detach().reshape(())
    queue = _QUEUES[message_hub.instance_name]
    queue.append((key, value))
    if len(queue) >= MAX_PENDING:
        flush_scalars(message_hub)


def pending_scalars(message_hub: MessageHub) -> int:
    """How many values wait for :func:`flush_scalars`."""
    return len(_QUEUES.get(message_hub.instance_name, ()))


def flush_scalars(message_hub: MessageHub) -> None:
    """Record every queued value in ``message_hub``, in queue order.

    The tensors are read back in one ``stack(...).tolist()`` per (device,
    dtype) group: one GPU synchronisation however many values waited. A
    tensor becomes the Python number ``.item()`` would give.
    """
    queue = _QUEUES.pop(message_hub.instance_name, None)
    if not queue:
        return
    groups: Dict[tuple, List[int]] = defaultdict(list)
    for pos, (_, value) in enumerate(queue):
        if isinstance(value, torch.Tensor):
            groups[(value.device, value.dtype)].append(pos)
    numbers = [value for _, value in queue]
    for positions in groups.values():
        values = torch.stack([queue[p][1] for p in positions]).tolist()
        for pos, number in zip(positions, values):
            numbers[pos] = number
    for (key, _), number in zip(queue, numbers):
        message_hub.update_scalar(key, number)


class DeferredGradNormMixin:
    """``OptimWrapper._clip_grad`` with the gradient norm queued by
    :func:`defer_scalar` instead of converted by ``float()`` every step.

    The clipping itself is mmengine's (same parameters, ``clip_func`` and
    arguments); only the logging of the norm waits for the next flush.
    """

    def _clip_grad(self) -> None:
        """Clip the gradients; queue the total norm for logging."""
        params: List[torch.Tensor] = []
        for param_group in self.optimizer.param_groups:
            params.extend(param_group['params'])
        params = [p for p in params if p.requires_grad and p.grad is not None]
        if params:
            grad = self.clip_func(params, **self.clip_grad_kwargs)
            # ``clip_grad_value_`` returns None: nothing to log
            if grad is not None:
                defer_scalar(self.message_hub, f'train/{self.grad_name}', grad)


#: ``--amp`` (tools/train.py): the AMP wrapper of each plain one.
AMP_WRAPPERS = {
    'OptimWrapper': 'AmpOptimWrapper',
    'AmpOptimWrapper': 'AmpOptimWrapper',
    'DeferredLogOptimWrapper': 'DeferredLogAmpOptimWrapper',
    'DeferredLogAmpOptimWrapper': 'DeferredLogAmpOptimWrapper',
}


def amp_wrapper_type(wrapper_type: str) -> str:
    """The mixed-precision optimizer wrapper type for ``wrapper_type``.

    Args:
        wrapper_type (str): ``optim_wrapper.type`` of a config.

    Raises:
        ValueError: for a type without an AMP counterpart, naming the
            supported ones.
    """
    if wrapper_type not in AMP_WRAPPERS:
        raise ValueError(
            f'--amp needs optim_wrapper.type in {sorted(AMP_WRAPPERS)}, got '
            f'{wrapper_type!r}'
        )
    return AMP_WRAPPERS[wrapper_type]
