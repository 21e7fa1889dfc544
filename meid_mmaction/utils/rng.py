"""Random generators that are a pure function of (seed, rank, step).

Components that draw at every training step (EQL's drops, mixup, FrameStack)
keep a step counter in a persistent buffer and draw from
:func:`step_rng` / :func:`step_torch_generator`: the draws then depend only
on the configured seed, the rank and the step, so a run resumed from a
checkpoint draws exactly what the uninterrupted run drew, and DDP ranks draw
differently.
"""

import numpy as np
import torch
from mmengine.dist import get_dist_info


def _state(seed: int, step: int) -> np.random.SeedSequence:
    rank, _ = get_dist_info()
    return np.random.SeedSequence([int(seed) % (1 << 63), rank, int(step)])


def step_rng(seed: int, step: int) -> np.random.Generator:
    """A numpy generator seeded with ``(seed, rank, step)``."""
    return np.random.default_rng(_state(seed, step))


def step_torch_generator(seed: int, step: int) -> torch.Generator:
    """A CPU torch generator seeded with ``(seed, rank, step)``."""
    value = int(_state(seed, step).generate_state(1, dtype=np.uint64)[0])
    return torch.Generator().manual_seed(value % (1 << 63))
