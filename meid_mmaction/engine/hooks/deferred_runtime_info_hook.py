"""RuntimeInfoHook that records the training losses at logging steps."""

from typing import Optional

from mmaction.registry import HOOKS
from mmengine.hooks import LoggerHook, RuntimeInfoHook
from mmengine.utils import apply_to

from ..deferred_scalars import defer_scalar, flush_scalars


@HOOKS.register_module()
class DeferredRuntimeInfoHook(RuntimeInfoHook):
    """``RuntimeInfoHook`` without a GPU -> host synchronisation per step.

    mmengine's hook records every value of the model's ``log_vars``
    (``loss``, ``loss_cls``, ...) after every training iteration with
    ``.item()``, one synchronisation each. This hook queues them
    (:func:`~meid_mmaction.engine.deferred_scalars.defer_scalar`) and
    records everything queued (with the gradient norms of
    ``DeferredLogOptimWrapper``) in one transfer at the iterations where
    the runner's ``LoggerHook`` writes a line (its ``interval`` and
    ``ignore_last``, the same test as ``LoggerHook.after_train_iter``; it
    runs first, priority ``VERY_HIGH``), at the end of each training epoch,
    before validation, before a checkpoint is saved and after training.
    Without a ``LoggerHook`` it records at every iteration, as mmengine
    does. The message hub gets the same values in the same order, so logs
    and checkpoints are unchanged. Everything else is ``RuntimeInfoHook``'s.
    """

    def after_train_iter(
        self,
        runner,
        batch_idx: int,
        data_batch=None,
        outputs: Optional[dict] = None,
    ) -> None:
        """Queue ``outputs``; record the queue at a logging iteration."""
        if outputs is not None:
            for key, value in outputs.items():
                defer_scalar(runner.message_hub, f'train/{key}', value)
        if self.logs_at(runner, batch_idx):
            flush_scalars(runner.message_hub)

    @staticmethod
    def logs_at(runner, batch_idx: int) -> bool:
        """Whether the runner's ``LoggerHook`` writes a line after training
        iteration ``batch_idx`` (True without a ``LoggerHook``)."""
        logger = next(
            (h for h in runner.hooks if isinstance(h, LoggerHook)), None
        )
        if logger is None:
            return True
        if logger.every_n_inner_iters(batch_idx, logger.interval):
            return True
        return logger.end_of_epoch(runner.train_dataloader, batch_idx) and (
            not logger.ignore_last
            or len(runner.train_dataloader) <= logger.interval
        )

    def after_train_epoch(self, runner) -> None:
        """Record what is queued."""
        flush_scalars(runner.message_hub)
        super().after_train_epoch(runner)

    def before_val_epoch(self, runner) -> None:
        """Record what is queued."""
        flush_scalars(runner.message_hub)
        super().before_val_epoch(runner)

    def after_train(self, runner) -> None:
        """Record what is queued."""
        flush_scalars(runner.message_hub)
        super().after_train(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record what is queued and put the message hub's state in the
        checkpoint again (the runner took it before this hook)."""
        flush_scalars(runner.message_hub)
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = apply_to(
                runner.message_hub.state_dict(),
                lambda x: hasattr(x, 'cpu'),
                lambda x: x.cpu(),
            )
        super().before_save_checkpoint(runner, checkpoint)
