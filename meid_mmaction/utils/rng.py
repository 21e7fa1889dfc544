"""Random generators that are a pure function of (seed, rank, step).

Components that draw at every training step (EQL's drops, mixup, FrameStack)
keep a step counter in a persistent buffer and draw from
:func:`step_rng` / :func:`step_torch_generator`: the draws then depend only
on the configured seed, the rank and the step, so a run resumed from a
checkpoint draws exactly what the uninterrupted run drew, and DDP ranks draw
differently. :class:`StepCounter` keeps that counter both as the buffer (in
checkpoints, on the module's device) and as a host integer, so a training
step reads it without a GPU -> host synchronisation.
"""

import numpy as np
import torch
import torch.nn as nn
from mmengine.dist import get_dist_info


def _state(seed: int, step: int) -> np.random.SeedSequence:
    rank, _ = get_dist_info()
    return np.random.SeedSequence([int(seed) % (1 << 63), rank, int(step)])


def step_rng(seed: int, step: int) -> np.random.Generator:
    """A numpy generator seeded with ``(seed, rank, step)``."""
    return np.random.default_rng(_state(seed, step))


def step_torch_generator(
    seed: int, step: int, device='cpu'
) -> torch.Generator:
    """A torch generator on ``device`` seeded with ``(seed, rank, step)``.

    The seed is the same on every device, but the streams are not: a CPU
    generator (Mersenne Twister) and a CUDA one (Philox) draw different
    numbers from it. Each is deterministic for ``(seed, rank, step)``.
    """
    value = int(_state(seed, step).generate_state(1, dtype=np.uint64)[0])
    return torch.Generator(device=device).manual_seed(value % (1 << 63))


class StepCounter(nn.Module):
    """Base of the modules that draw once per training step.

    The step counter is the persistent buffer ``num_steps`` (saved in
    checkpoints, so ``--resume`` continues the draws) and its host copy,
    which :meth:`next_step` reads: no ``int(num_steps)``, i.e. no GPU ->
    host synchronisation, in a training step. The host copy is refreshed
    whenever a state dict is loaded. Subclasses call
    :meth:`init_step_counter` in their constructor (after
    ``nn.Module.__init__``).
    """

    def init_step_counter(self) -> None:
        """Register ``num_steps`` (0) and its host copy."""
        self.register_buffer('num_steps', torch.zeros((), dtype=torch.long))
        self._host_steps = 0

    @property
    def step(self) -> int:
        """The current step (host copy of ``num_steps``)."""
        return self._host_steps

    def next_step(self) -> int:
        """Return the current step and advance the counter (both copies;
        the buffer by an in-place add on its device)."""
        step = self._host_steps
        self._host_steps += 1
        self.num_steps.add_(1)
        return step

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Load as usual, then refresh the host copy of ``num_steps``."""
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._host_steps = int(self.num_steps.item())
