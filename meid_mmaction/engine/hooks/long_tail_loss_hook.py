"""Hand the training split's class statistics and the epoch to the model."""

from mmaction.registry import HOOKS
from mmengine.hooks import Hook

from ..interfaces import (
    EpochScheduled,
    hand_class_statistics,
    modules_implementing,
)


@HOOKS.register_module()
class LongTailLossHook(Hook):
    """Give the losses what they need from the training data and schedule.

    * ``before_train``: every module of the model with ``set_class_counts``
      (``ClassBalancedLoss``, ``LDAMLoss``, ``EQLLoss``) gets the training
      dataset's ``metainfo['class_counts']`` (a loss whose config gave
      ``class_counts`` keeps those); every module with ``set_class_groups``
      (MEID's distillation necks) gets ``metainfo['class_groups']``. This is
      the one path by which counts reach a loss, for any head and any train
      loop; the counts are never copied into configs.
    * ``before_train_epoch``: every module with ``set_train_epoch`` (the
      DRW switch of ``LDAMLoss``) gets ``runner.epoch``. The state is a
      function of the epoch, so ``--resume`` continues exactly.

    It is in ``configs/_base_/default_runtime.py``'s ``custom_hooks``.
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        """Hand the class counts / groups to the modules that use them
        (:func:`~meid_mmaction.engine.interfaces.hand_class_statistics`)."""
        hand_class_statistics(runner.model, runner.train_dataloader.dataset)

    def before_train_epoch(self, runner) -> None:
        """Tell the epoch-scheduled losses which epoch is starting."""
        for module in modules_implementing(runner.model, EpochScheduled):
            module.set_train_epoch(runner.epoch)
