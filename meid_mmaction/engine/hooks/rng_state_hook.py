"""Save the global random states in checkpoints; restore them on resume."""

import random
from typing import List, Optional

import numpy as np
import torch
from mmaction.registry import HOOKS
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log

#: top-level checkpoint key holding the states
CHECKPOINT_KEY = 'rng_state'


def capture_rng_state() -> dict:
    """This process's global random states, as types that
    ``torch.load(weights_only=True)`` accepts without an allow-list entry
    (tensors, ints, floats, str, None).

    Returns:
        dict: ``torch`` (uint8 tensor), ``cuda`` (``dict(device, state)``:
        the generator of this process's current CUDA device, uint8 tensor;
        None when CUDA is not in use: reading every device's state would
        start a CUDA context on each GPU from every rank), ``numpy``
        (dict: ``key`` int64 tensor ``[624]``, ``pos``, ``has_gauss``,
        ``cached_gaussian``) and ``python`` (dict: ``version``, ``state``
        int64 tensor ``[625]``, ``gauss_next``).
    """
    name, key, pos, has_gauss, cached = np.random.get_state()
    if name != 'MT19937':  # pragma: no cover - numpy's only legacy bitgen
        raise ValueError(f'numpy random state {name!r}: expected MT19937')
    version, internal, gauss_next = random.getstate()
    cuda = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        device = torch.cuda.current_device()
        cuda = dict(device=device, state=torch.cuda.get_rng_state(device))
    return dict(
        torch=torch.get_rng_state().clone(),
        cuda=cuda,
        numpy=dict(
            key=torch.from_numpy(key.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached),
        ),
        python=dict(
            version=int(version),
            state=torch.tensor(internal, dtype=torch.int64),
            gauss_next=gauss_next,
        ),
    )


def restore_rng_state(state: dict) -> None:
    """Set this process's global random states from
    :func:`capture_rng_state`'s dict (the CUDA state on the device it was
    read from, when this process sees that device)."""
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        if cuda['device'] < torch.cuda.device_count():
            torch.cuda.set_rng_state(cuda['state'], cuda['device'])
        else:
            print_log(
                f'RNGStateHook: the checkpoint has the CUDA random state '
                f'of device {cuda["device"]}, this process sees '
                f'{torch.cuda.device_count()} devices; not restored',
                logger='current',
                level=30,
            )
    nps = state['numpy']
    np.random.set_state(
        (
            'MT19937',
            nps['key'].numpy().astype(np.uint32),
            nps['pos'],
            nps['has_gauss'],
            nps['cached_gaussian'],
        )
    )
    py = state['python']
    random.setstate(
        (py['version'], tuple(int(v) for v in py['state']), py['gauss_next'])
    )


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Makes ``--resume`` bit-exact for models that draw from the global
    random generators (dropout, ``torch.rand`` in a loss, numpy / Python
    ``random`` in a transform).

    mmengine saves the model, optimizer, schedulers and message hub, but not
    the random states, so a run resumed after epoch ``e`` draws different
    dropout masks than the uninterrupted run. This hook

    - at the end of every training epoch captures torch (CPU and the
      rank's CUDA device), numpy and Python ``random`` states of **every
      rank**
      (``all_gather_object``: mmengine saves checkpoints on rank 0 only);
    - adds them to each checkpoint saved at that point (key
      ``'rng_state'``: ``dict(epoch, iter, world_size, ranks=[state of rank
      0, ...])``; tensors and plain numbers only, so ``weights_only=True``
      loads them);
    - makes validation invisible to the training stream: the states are
      saved before validation and put back after it (creating the
      validation loader draws from torch's generator), so whether, when and
      how often a run validates does not change its training draws;
    - on ``--resume`` (not ``load_from``) restores each rank's own states at
      the start of the first training epoch, before any other hook runs.

    The states are captured at epoch ends only, i.e. they make epoch
    checkpoints exact. A checkpoint saved in the middle of an epoch
    (``by_epoch=False``) carries none, and resuming from it says so.
    Dataloader workers need nothing more: their seeds derive from torch's
    generator at the start of each epoch, and frame draws are seeded per
    (seed, epoch, sample) by :class:`FrameSamplingSeedHook`.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._captured: Optional[dict] = None
        self._pending: Optional[List[dict]] = None
        self._before_val: Optional[dict] = None

    def after_train_epoch(self, runner) -> None:
        """Capture every rank's states for the checkpoints of this epoch."""
        states = all_gather_object(capture_rng_state())
        self._captured = dict(
            epoch=runner.epoch + 1,
            iter=runner.iter,
            world_size=len(states),
            ranks=states,
        )

    def before_val(self, runner) -> None:
        """Remember the training states before validation draws."""
        self._before_val = capture_rng_state()

    def after_val(self, runner) -> None:
        """Put the training states back after validation."""
        if self._before_val is not None:
            restore_rng_state(self._before_val)
            self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add the states captured at this epoch end (rank 0 only)."""
        captured = self._captured
        if captured is not None and captured['iter'] == runner.iter:
            checkpoint[CHECKPOINT_KEY] = captured

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """On resume, keep this rank's states for the next epoch start."""
        if not getattr(runner, '_resume', False):
            return
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None:
            print_log(
                'RNGStateHook: the checkpoint has no random states (saved '
                'by an older version, or in the middle of an epoch); the '
                'resumed run continues with fresh random states, so layers '
                'such as dropout draw differently from an uninterrupted run',
                logger='current',
                level=30,
            )
            return
        rank, world_size = get_dist_info()
        if saved['world_size'] != world_size:
            print_log(
                f'RNGStateHook: the checkpoint was saved by '
                f'{saved["world_size"]} processes, this run has '
                f'{world_size}: random states restored for the ranks both '
                'have; the run is not an exact continuation',
                logger='current',
                level=30,
            )
        ranks = saved['ranks']
        self._pending = ranks[rank] if rank < len(ranks) else None

    def before_train_epoch(self, runner) -> None:
        """Restore the resumed states (first epoch after a resume only)."""
        if self._pending is not None:
            restore_rng_state(self._pending)
            self._pending = None
