"""Hand the training split's class statistics and the epoch to the model."""
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


def _modules_with(model, method: str) -> list:
    """Modules of ``model`` (unwrapped) that have a callable ``method``."""
    if is_model_wrapper(model):
        model = model.module
    return [m for m in model.modules() if callable(getattr(m, method, None))]


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
        """Hand the class counts / groups to the modules that use them."""
        counts_users = _modules_with(runner.model, 'set_class_counts')
        groups_users = _modules_with(runner.model, 'set_class_groups')
        if not counts_users and not groups_users:
            return
        dataset = runner.train_dataloader.dataset
        metainfo = getattr(dataset, 'metainfo', None) or {}
        for key, users, method in (
                ('class_counts', counts_users, 'set_class_counts'),
                ('class_groups', groups_users, 'set_class_groups')):
            if not users:
                continue
            value = metainfo.get(key)
            if value is None:
                needy = [
                    type(m).__name__ for m in users
                    if not getattr(m, 'counts_from_config', False)
                ]
                if not needy:
                    continue
                raise ValueError(
                    f"LongTailLossHook: the training dataset "
                    f"{type(dataset).__name__} publishes no metainfo['{key}']"
                    f', which {sorted(set(needy))} need (or give '
                    "'class_counts' in the loss config)")
            for module in users:
                getattr(module, method)(value)

    def before_train_epoch(self, runner) -> None:
        """Tell the epoch-scheduled losses which epoch is starting."""
        for module in _modules_with(runner.model, 'set_train_epoch'):
            module.set_train_epoch(runner.epoch)
