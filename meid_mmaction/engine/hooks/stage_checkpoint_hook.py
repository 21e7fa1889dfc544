"""Checkpointing that also keeps the best checkpoint of each training stage."""

import glob
import os
import os.path as osp
from typing import Dict, Optional

from mmaction.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from ...utils.atomic_backend import atomic_write, is_tmp_name

#: Names ``tools/test.py`` accepts instead of a checkpoint path.
CHECKPOINT_CHOICES = ('best', 'best_stage1', 'best_stage2', 'last')


@HOOKS.register_module()
class StageCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that also keeps the best checkpoint of each stage.

    With ``save_best`` set, mmengine keeps one best checkpoint over the whole
    run: for MEID (``TwoStageTrainLoop``) that may be a stage-1 checkpoint
    when stage 2 does not improve validation. This hook keeps, in addition,
    the best checkpoint *of each stage*, ``best_<metric>_stage<s>_<epoch>.pth``
    (stage ``s`` is the ``train_stage`` the loop publishes in the message
    hub), logs each update and, after training, which checkpoint is the best
    overall, the best of each stage and the last. ``tools/test.py`` takes
    ``best``, ``best_stage1``, ``best_stage2`` or ``last`` for the checkpoint
    (see :func:`find_checkpoint`).

    Without a stage (any other train loop) it is exactly ``CheckpointHook``.
    Per-stage bests are in the message hub (``best_score_stage<s>``,
    ``best_ckpt_stage<s>``), so they survive ``--resume``.

    **Atomic writes.** In a local work dir (and unless ``backend_args`` or
    ``file_client_args`` choose a backend), every checkpoint is written
    through the ``'atomic_local'`` file backend
    (:mod:`meid_mmaction.utils.atomic_backend`): to a temporary
    ``.<name>.tmp-<pid>`` in the same directory, ``fsync``, ``os.replace``.
    ``last_checkpoint`` is written the same way and only after its
    checkpoint is complete. A process killed while saving leaves the
    previous files intact and at most a temporary file, which the next run
    removes (``before_train``, with a log line).

    Args:
        save_best_per_stage (bool): Keep the best checkpoint of each stage.
            Defaults to True.
        **kwargs: ``CheckpointHook`` arguments.
    """

    def __init__(
        self, *args, save_best_per_stage: bool = True, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.save_best_per_stage = save_best_per_stage

    def before_train(self, runner) -> None:
        """Choose the atomic backend for local work dirs; remove temporary
        files of saves that a killed run did not finish."""
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        if (
            self.backend_args is None
            and self.file_client_args is None
            and '://' not in str(out_dir)
        ):
            self.backend_args = dict(backend='atomic_local')
        super().before_train(runner)
        if self.backend_args == dict(backend='atomic_local'):
            for folder in {self.out_dir, runner.work_dir}:
                self._remove_tmp_files(str(folder))

    @staticmethod
    def _remove_tmp_files(folder: str) -> None:
        if not is_main_process() or not osp.isdir(folder):
            return
        for name in sorted(os.listdir(folder)):
            if is_tmp_name(name):
                os.remove(osp.join(folder, name))
                print_log(
                    f'StageCheckpointHook: removed {name} in {folder}, an '
                    'unfinished checkpoint write of an interrupted run',
                    logger='current',
                    level=30,
                )

    def _save_checkpoint_with_step(self, runner, step, meta):
        """``CheckpointHook``'s, with ``last_checkpoint`` written atomically
        (after the checkpoint it names is complete)."""
        if self.backend_args != dict(backend='atomic_local'):
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        if self.max_keep_ckpts > 0 and not (
            self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step
        ):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                old = self.keep_ckpt_ids.popleft()
                if is_main_process():
                    path = self.file_backend.join_path(
                        self.out_dir, self.filename_tmpl.format(old)
                    )
                    if self.file_backend.isfile(path):
                        self.file_backend.remove(path)
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info(
                'keep_ckpt_ids', list(self.keep_ckpt_ids)
            )
        name = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, name)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            name,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if is_main_process():
            atomic_write(
                osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt
            )

    @staticmethod
    def _stage(runner) -> Optional[int]:
        return runner.message_hub.get_info('train_stage')

    def _suffix(self, key: str) -> str:
        return '' if len(self.key_indicators) == 1 else f'_{key}'

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """Save the overall best (``CheckpointHook``) and the stage's best."""
        stage = self._stage(runner)
        if not self.save_best or stage is None:
            super()._save_best_checkpoint(runner, metrics)
            return
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        hub = runner.message_hub
        before = {
            k: hub.get_info('best_ckpt' + self._suffix(k))
            for k in self.key_indicators
        }
        super()._save_best_checkpoint(runner, metrics)
        overall = [
            k
            for k in self.key_indicators
            if hub.get_info('best_ckpt' + self._suffix(k)) != before[k]
        ]
        for key in overall:
            hub.update_info(f'best_stage{self._suffix(key)}', stage)
        if not self.save_best_per_stage:
            return
        updated = [
            k
            for k in self.key_indicators
            if self._save_stage_best(runner, metrics, stage, k)
        ]
        if (updated or overall) and self.last_ckpt is not None:
            # as CheckpointHook does: the epoch checkpoint (saved before
            # validation) must carry the new best, for --resume
            step = runner.epoch if self.by_epoch else runner.iter
            self._save_checkpoint_with_step(
                runner, step, dict(epoch=runner.epoch, iter=runner.iter)
            )

    def _save_stage_best(self, runner, metrics, stage: int, key: str) -> bool:
        score = metrics.get(key)
        hub = runner.message_hub
        suffix = f'_stage{stage}{self._suffix(key)}'
        best = hub.get_info('best_score' + suffix)
        rule = self.rules[self.key_indicators.index(key)]
        if best is None:
            best = self.init_value_map[rule]
        if score is None or not self.is_better_than[key](score, best):
            return False
        step = runner.epoch if self.by_epoch else runner.iter
        name = (
            f'best_{key}_stage{stage}_' + self.filename_tmpl.format(step)
        ).replace('/', '_')
        path = self.file_backend.join_path(self.out_dir, name)
        old = hub.get_info('best_ckpt' + suffix)
        if (
            old
            and old != path
            and is_main_process()
            and self.file_backend.isfile(old)
        ):
            self.file_backend.remove(old)
        hub.update_info('best_score' + suffix, score)
        hub.update_info('best_ckpt' + suffix, path)
        runner.save_checkpoint(
            self.out_dir,
            filename=name,
            file_client_args=self.file_client_args,
            save_optimizer=False,
            save_param_scheduler=False,
            meta=dict(epoch=runner.epoch, iter=runner.iter),
            by_epoch=False,
            backend_args=self.backend_args,
        )
        runner.logger.info(
            f'The best checkpoint of stage {stage} with {score:0.4f} {key} '
            f'at {"epoch" if self.by_epoch else "iter"} {step} is saved to '
            f'{name}.'
        )
        return True

    def after_train(self, runner) -> None:
        """Say which checkpoint is the best overall, of each stage, last."""
        super().after_train(runner)
        hub = runner.message_hub
        if not self.save_best or hub.get_info('train_stage') is None:
            return
        for key in self.key_indicators:
            sfx = self._suffix(key)
            lines = [
                f'Checkpoints ({key}): "best" is the best validation '
                'score of the whole run, in any stage; "best_stage<s>" '
                'the best within stage s; "last" the final epoch.'
            ]
            best = hub.get_info('best_ckpt' + sfx)
            if best:
                score = hub.get_info('best_score' + sfx)
                stage = hub.get_info('best_stage' + sfx)
                lines.append(
                    f'  best:        {best} ({score:.4f}, stage {stage})'
                )
            for stage in (1, 2):
                path = hub.get_info(f'best_ckpt_stage{stage}{sfx}')
                if path:
                    score = hub.get_info(f'best_score_stage{stage}{sfx}')
                    lines.append(f'  best_stage{stage}: {path} ({score:.4f})')
            if self.last_ckpt:
                lines.append(f'  last:        {self.last_ckpt}')
            lines.append(
                'Test one with tools/test.py CONFIG '
                '{best,best_stage1,best_stage2,last} or a path.'
            )
            runner.logger.info('\n'.join(lines))


def find_checkpoint(work_dir: str, which: str) -> str:
    """The checkpoint named ``which`` in ``work_dir``.

    Args:
        work_dir (str): The training run's work dir.
        which (str): ``'best'`` (best validation score over the run),
            ``'best_stage1'`` / ``'best_stage2'`` (best within a stage,
            :class:`StageCheckpointHook`) or ``'last'`` (``last_checkpoint``).

    Returns:
        str: The checkpoint path.

    Raises:
        ValueError: ``which`` is not one of :data:`CHECKPOINT_CHOICES`.
        FileNotFoundError: No such checkpoint, or several (one per metric).
    """
    if which not in CHECKPOINT_CHOICES:
        raise ValueError(
            f'checkpoint {which!r}: expected a file or one of '
            f'{list(CHECKPOINT_CHOICES)}'
        )
    if which == 'last':
        marker = osp.join(work_dir, 'last_checkpoint')
        if not osp.isfile(marker):
            raise FileNotFoundError(f'checkpoint last: {marker} not found')
        with open(marker) as f:
            path = f.read().strip()
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'checkpoint last: {marker} names {path}, which is missing'
            )
        return path
    names = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')))
    if which == 'best':
        found = [p for p in names if '_stage' not in osp.basename(p)]
    else:
        tag = '_' + which[len('best_') :] + '_'
        found = [p for p in names if tag in osp.basename(p)]
    if len(found) != 1:
        have: Dict[str, list] = dict(best=[osp.basename(p) for p in names])
        raise FileNotFoundError(
            f'checkpoint {which}: expected one match in {work_dir}, found '
            f'{len(found)} (best checkpoints there: {have["best"]})'
        )
    return found[0]
