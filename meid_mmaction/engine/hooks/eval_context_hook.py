"""Tell the metrics which split and which model they evaluate."""

import os.path as osp
from typing import Optional

from mmaction.registry import HOOKS
from mmengine.hooks import Hook


def evaluated_list(dataset) -> Optional[str]:
    """The annotation file a (possibly wrapped) dataset reads, if any.

    Descends ``dataset.dataset`` of wrappers (``RepeatDataset``, ...).
    """
    seen = 0
    while dataset is not None and seen < 8:
        ann_file = getattr(dataset, 'ann_file', None)
        if isinstance(ann_file, str) and ann_file:
            return ann_file
        dataset = getattr(dataset, 'dataset', None)
        seen += 1
    return None


def split_name(ann_file: Optional[str], default: str) -> str:
    """``'val'`` for ``data/x/val.lst``; ``default`` without a list."""
    if not ann_file:
        return default
    return osp.splitext(osp.basename(ann_file))[0]


@HOOKS.register_module()
class EvalContextHook(Hook):
    """Before each validation / test epoch, tell every metric of the loop's
    evaluator that has ``set_eval_context`` (e.g. ``LongTailMAP``):

    - ``split``: the stem of the list the loop's dataset reads (``val``,
      ``validate``, ``test``, ...; the loop's name when there is none), so
      outputs say which list was evaluated, whichever loop evaluated it;
    - ``tag``: ``epoch_<n>`` (or ``iter_<n>``) during training; in a test
      run, the stem of the loaded checkpoint (``epoch_24``);
    - ``out_dir``: the run's log directory (``<work_dir>/<timestamp>``).

    ``LongTailMAP`` names its per-class CSV with them
    (``per_class_ap_val_epoch_3.csv``).
    """

    priority = 'NORMAL'

    def before_val_epoch(self, runner) -> None:
        """Set the context of the validation metrics."""
        if runner.epoch > 0:
            tag = f'epoch_{runner.epoch}'
        elif runner.iter > 0:
            tag = f'iter_{runner.iter}'
        else:
            tag = self._checkpoint_tag(runner)
        self._tell(runner.val_loop, 'val', tag, runner.log_dir)

    def before_test_epoch(self, runner) -> None:
        """Set the context of the test metrics."""
        self._tell(
            runner.test_loop,
            'test',
            self._checkpoint_tag(runner),
            runner.log_dir,
        )

    @staticmethod
    def _checkpoint_tag(runner) -> str:
        load_from = runner.cfg.get('load_from', None)
        if load_from:
            return osp.splitext(osp.basename(str(load_from)))[0]
        return f'epoch_{runner.epoch}'

    @staticmethod
    def _tell(loop, loop_name: str, tag: str, out_dir: str) -> None:
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        split = split_name(evaluated_list(dataset), loop_name)
        evaluator = getattr(loop, 'evaluator', None)
        for metric in getattr(evaluator, 'metrics', ()):
            if callable(getattr(metric, 'set_eval_context', None)):
                metric.set_eval_context(split=split, tag=tag, out_dir=out_dir)
