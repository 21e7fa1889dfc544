"""Seed random frame sampling by (seed, epoch, sample index)."""

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ..interfaces import frame_seeded_dataset


@HOOKS.register_module()
class FrameSamplingSeedHook(Hook):
    """Before each training epoch, call ``dataset.set_frame_seed(seed,
    epoch)`` on the current training dataset if it is
    :class:`~meid_mmaction.engine.interfaces.FrameSeeded`.

    Frame draws then depend only on the run's seed, the epoch and the sample
    index: a resumed run draws the same frames as an uninterrupted one, and
    the number of DataLoader workers does not change the draws. Persistent
    workers keep the dataset copy they were started with, so with
    ``persistent_workers=True`` (and workers) the hook does nothing and says
    so once; the transforms then use the workers' global random state.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._warned = False

    def before_train_epoch(self, runner) -> None:
        """Seed the frame draws of the epoch about to start."""
        loader = runner.train_loop.dataloader
        dataset = frame_seeded_dataset(loader)
        if dataset is None:
            return
        if (
            getattr(loader, 'persistent_workers', False)
            and getattr(loader, 'num_workers', 0) > 0
        ):
            if not self._warned:
                print_log(
                    'FrameSamplingSeedHook: the training DataLoader has '
                    'persistent workers, which never see a new epoch; frame '
                    "sampling falls back to the workers' global random "
                    'state (set persistent_workers=False for draws that '
                    'are exact on resume)',
                    logger='current',
                    level=30,
                )
                self._warned = True
            return
        dataset.set_frame_seed(runner.seed, runner.epoch)
