"""Epoch-based train loop that runs MEID's two training stages in one run."""

import bisect
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmaction.registry import LOOPS
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from ..interfaces import (
    StagedModule,
    hand_class_statistics,
    modules_implementing,
)

_STAGE_KEYS = ('max_epochs', 'lr', 'milestones', 'gamma', 'sampler')
# Neutral values for the optional keys; MEID's recipe (epochs, lrs,
# milestones, the stage-2 sampler) is stated once, in
# configs/_base_/schedules/meid_two_stage.py.
_STAGE_OPTIONAL = dict(lr=None, milestones=(), gamma=0.1, sampler=None)
_STAGE_NAMES = {
    1: 'expert 1 (attention expert)',
    2: 'expert 2 (complementary expert)',
}
_LR_MULT_KEY = 'two_stage_lr_mult'


@LOOPS.register_module()
class TwoStageTrainLoop(EpochBasedTrainLoop):
    """Train stage 1 and then stage 2 of MEID in a single run.

    The global epoch ``e`` decides everything, so ``--resume`` from any
    checkpoint continues exactly: epochs ``[0, E1)`` are stage 1 and
    ``[E1, E1 + E2)`` stage 2 (with ``stages=(2,)`` all epochs are stage 2).
    At the start of every epoch the loop

    * calls ``set_train_stage(stage)`` on every
      :class:`~meid_mmaction.engine.interfaces.StagedModule` of the model
      (``MEIDHead``): the stage goes into the head's buffer and only the
      stage's expert is trainable; in stage 2 every other part of the model
      (a backbone, say) also gets ``requires_grad=False`` and eval mode;
    * switches to the stage's dataloader (the train dataloader's dataset
      with the stage's ``sampler``, e.g. ``ClassBalancedSampler`` in stage
      2; the sampler seed and ``set_epoch`` make the order a function of
      the epoch);
    * sets the learning rate of every parameter group to
      ``lr_stage * gamma ** #(milestones <= epoch - stage_start)`` times the
      group's multiplier (its lr relative to the optimizer's lr when first
      seen, kept in the group and so in checkpoints). ``param_scheduler``
      must therefore be empty: mmengine's schedulers multiply the current
      lr step by step from one base lr per run, while stage 2 restarts from
      its own lr and milestones counted from the stage start; setting the
      lr as a function of the global epoch is what makes ``--resume`` from
      any epoch exact without replaying schedulers.

    A single optimizer holds all parameters. Whenever parameters are frozen
    at an epoch start, their ``.grad`` is set to None and their optimizer
    state (Adam moments, SGD momentum) is dropped, so no optimizer moves
    them: backward gives them no gradient and optimizers skip parameters
    whose gradient is None (also with ``zero_grad(set_to_none=False)``,
    which would otherwise keep stage 1's gradients as zeros for Adam's
    moments and SGD's weight decay to act on). Validation runs after the
    last epoch of every stage in addition to ``val_interval``. Before
    training, the dataset's class groups / counts reach the modules through
    :func:`~meid_mmaction.engine.interfaces.hand_class_statistics` (the
    same hand-off as ``LongTailLossHook``), so the distillation necks are
    set also without that hook.

    Under DDP use ``model_wrapper_cfg=dict(type='MMDistributedDataParallel',
    find_unused_parameters=True)``: each stage leaves one expert unused.

    Args:
        runner (Runner): The runner.
        dataloader (dict): Train dataloader config (stage 1 uses it as is
            unless ``stage1['sampler']`` is set).
        stage1 (dict): ``max_epochs`` (required), ``lr`` (None: the
            optimizer's lr), ``milestones`` (epochs from the stage start;
            none by default), ``gamma`` (0.1), ``sampler`` (None: the
            dataloader's). MEID's values are in
            ``configs/_base_/schedules/meid_two_stage.py``.
        stage2 (dict): Same keys.
        stages (sequence of int): Stages to run, ``(1, 2)`` (default),
            ``(1,)`` or ``(2,)`` (start from a stage-1 checkpoint with
            ``load_from``).
        val_begin (int): First epoch to validate. Defaults to 1.
        val_interval (int): Validation interval. Defaults to 1.
        dynamic_intervals (list, optional): As in ``EpochBasedTrainLoop``.
    """

    def __init__(
        self,
        runner,
        dataloader: Union[Dict, DataLoader],
        stage1: Optional[dict] = None,
        stage2: Optional[dict] = None,
        stages: Sequence[int] = (1, 2),
        val_begin: int = 1,
        val_interval: int = 1,
        dynamic_intervals: Optional[List[Tuple[int, int]]] = None,
    ) -> None:
        stages = tuple(stages)
        if stages not in ((1, 2), (1,), (2,)):
            raise ValueError(
                f'TwoStageTrainLoop: stages={stages!r} is not '
                'supported; expected (1, 2), (1,) or (2,)'
            )
        given = {1: stage1, 2: stage2}
        self.plan = [(s, self._stage_cfg(s, given[s])) for s in stages]
        self.stage_starts = []
        total = 0
        for _, cfg in self.plan:
            self.stage_starts.append(total)
            total += cfg['max_epochs']
        dataloader_cfg = (
            copy.deepcopy(dataloader) if isinstance(dataloader, dict) else None
        )
        super().__init__(
            runner,
            dataloader_cfg if dataloader_cfg is not None else dataloader,
            max_epochs=total,
            val_begin=val_begin,
            val_interval=val_interval,
            dynamic_intervals=dynamic_intervals,
        )
        self._base_dataloader = self.dataloader
        self.stage_dataloaders = [
            self._build_stage_dataloader(s, cfg, dataloader_cfg)
            for s, cfg in self.plan
        ]
        self._max_iters = sum(
            cfg['max_epochs'] * len(loader)
            for (_, cfg), loader in zip(self.plan, self.stage_dataloaders)
        )
        self._current_stage_index = None

    # ------------------------------------------------------------------
    # construction helpers
    @staticmethod
    def _stage_cfg(stage: int, cfg: Optional[dict]) -> dict:
        out = dict(_STAGE_OPTIONAL)
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - set(_STAGE_KEYS))
        if unknown:
            raise ValueError(
                f'TwoStageTrainLoop: stage{stage} has unknown '
                f'keys {unknown}; expected a subset of '
                f'{list(_STAGE_KEYS)}'
            )
        out.update(cfg)
        epochs = out.get('max_epochs')
        if (
            isinstance(epochs, bool)
            or not isinstance(epochs, int)
            or epochs < 1
        ):
            raise ValueError(
                f'TwoStageTrainLoop: stage{stage} max_epochs '
                f'must be a positive int, got {epochs!r}'
            )
        milestones = list(out['milestones'] or [])
        if milestones != sorted(milestones) or any(
            not isinstance(m, int) or m < 1 for m in milestones
        ):
            raise ValueError(
                f'TwoStageTrainLoop: stage{stage} milestones '
                'must be increasing positive ints, got '
                f'{out["milestones"]!r}'
            )
        out['milestones'] = milestones
        if out['lr'] is not None and not out['lr'] > 0:
            raise ValueError(
                f'TwoStageTrainLoop: stage{stage} lr must be > '
                f'0 or None, got {out["lr"]!r}'
            )
        return out

    def _build_stage_dataloader(
        self, stage: int, cfg: dict, dataloader_cfg: Optional[dict]
    ):
        if cfg['sampler'] is None:
            return self._base_dataloader
        if dataloader_cfg is None:
            raise ValueError(
                f'TwoStageTrainLoop: stage{stage} sampler='
                f'{cfg["sampler"]!r} needs the train dataloader as a config '
                'dict, got a built DataLoader'
            )
        loader_cfg = {
            k: copy.deepcopy(v)
            for k, v in dataloader_cfg.items()
            if k != 'dataset'
        }
        loader_cfg['dataset'] = self._base_dataloader.dataset
        loader_cfg['sampler'] = copy.deepcopy(cfg['sampler'])
        randomness = self.runner.cfg.get('randomness') or {}
        diff_rank_seed = randomness.get('diff_rank_seed', False)
        return self.runner.build_dataloader(
            loader_cfg, seed=self.runner.seed, diff_rank_seed=diff_rank_seed
        )

    # ------------------------------------------------------------------
    # stage bookkeeping
    def stage_index(self, epoch: int) -> int:
        """Index into ``plan`` of the stage that trains global ``epoch``."""
        return max(bisect.bisect_right(self.stage_starts, epoch) - 1, 0)

    def _model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def _stage_heads(self) -> list:
        model = self._model()
        heads = modules_implementing(model, StagedModule)
        if not heads:
            raise ValueError(
                'TwoStageTrainLoop needs a model with a two-stage head (a '
                'module with set_train_stage(), e.g. MEIDHead); '
                f'{type(model).__name__} has none'
            )
        return heads

    def _outside_modules(self, heads) -> list:
        """Direct children of the model that contain no two-stage head."""
        out = []
        for name, child in self._model().named_children():
            if not any(h is m for m in child.modules() for h in heads):
                out.append((name, child))
        return out

    def _optim_wrappers(self) -> list:
        wrapper = self.runner.optim_wrapper
        if isinstance(wrapper, OptimWrapperDict):
            return list(wrapper.values())
        return [wrapper]

    def _set_lr(self, stage_cfg: dict, local_epoch: int) -> float:
        factor = stage_cfg['gamma'] ** bisect.bisect_right(
            stage_cfg['milestones'], local_epoch
        )
        lr = None
        for wrapper in self._optim_wrappers():
            optimizer = wrapper.optimizer
            base = optimizer.defaults.get('lr', 0.0)
            stage_lr = base if stage_cfg['lr'] is None else stage_cfg['lr']
            for group in optimizer.param_groups:
                if _LR_MULT_KEY not in group:
                    group[_LR_MULT_KEY] = group['lr'] / base if base else 1.0
                group['lr'] = stage_lr * group[_LR_MULT_KEY] * factor
                lr = group['lr'] if lr is None else lr
        return lr

    def _release_frozen(self) -> None:
        """Frozen parameters: ``.grad = None`` and no optimizer state."""
        frozen = [p for p in self._model().parameters() if not p.requires_grad]
        for p in frozen:
            p.grad = None
        for wrapper in self._optim_wrappers():
            state = wrapper.optimizer.state
            for p in frozen:
                state.pop(p, None)

    def _trainable_summary(self) -> str:
        counts = OrderedDict()
        for name, p in self._model().named_parameters():
            key = '.'.join(name.split('.')[:2])
            n_train, n_frozen = counts.get(key, (0, 0))
            if p.requires_grad:
                n_train += p.numel()
            else:
                n_frozen += p.numel()
            counts[key] = (n_train, n_frozen)
        trainable = [f'{k} ({t})' for k, (t, f) in counts.items() if t]
        frozen = [f'{k} ({f})' for k, (t, f) in counts.items() if f]
        return (
            f'trainable: {", ".join(trainable) or "nothing"}; '
            f'frozen: {", ".join(frozen) or "nothing"}'
        )

    def _enter_epoch(self) -> None:
        """Set stage, dataloader, trainable parameters and lr for the
        epoch about to run."""
        idx = self.stage_index(self._epoch)
        stage, cfg = self.plan[idx]
        local_epoch = self._epoch - self.stage_starts[idx]
        heads = self._stage_heads()
        for head in heads:
            head.set_train_stage(stage)
        self._frozen_outside = []
        if stage == 2:
            for _, module in self._outside_modules(heads):
                module.requires_grad_(False)
                self._frozen_outside.append(module)
        self._release_frozen()
        self.dataloader = self.stage_dataloaders[idx]
        lr = self._set_lr(cfg, local_epoch)
        self.runner.message_hub.update_info('train_stage', stage)
        if idx != self._current_stage_index:
            self._current_stage_index = idx
            sampler = getattr(self.dataloader, 'sampler', None)
            print_log(
                f'TwoStageTrainLoop: stage {stage} trains '
                f'{_STAGE_NAMES[stage]}: epochs '
                f'{self.stage_starts[idx] + 1}-'
                f'{self.stage_starts[idx] + cfg["max_epochs"]} of '
                f'{self._max_epochs} (stage epoch {local_epoch + 1}), '
                f'lr {lr:g}, sampler {type(sampler).__name__}; '
                f'{self._trainable_summary()}',
                logger='current',
            )

    def validates_after(self, epochs_done: int) -> bool:
        """Whether validation runs once ``epochs_done`` epochs are trained:
        after the last epoch of every stage, and from ``val_begin`` every
        ``val_interval`` epochs (``ExpertCombinationHook`` asks this)."""
        if self.runner.val_loop is None:
            return False
        stage_ends = {
            start + cfg['max_epochs']
            for start, (_, cfg) in zip(self.stage_starts, self.plan)
        }
        return epochs_done in stage_ends or (
            epochs_done >= self.val_begin
            and epochs_done % self.val_interval == 0
        )

    # ------------------------------------------------------------------
    # running
    def run(self):
        """Launch training of the planned stages."""
        schedulers = self.runner.param_schedulers
        if schedulers:
            raise ValueError(
                'TwoStageTrainLoop sets the learning rate from its stage1 / '
                'stage2 settings; set param_scheduler = [] in the config '
                f'(found {schedulers!r:.200})'
            )
        if (
            self.plan[0][0] == 2
            and self._epoch == 0
            and not self.runner.cfg.get('load_from')
        ):
            print_log(
                'TwoStageTrainLoop: stage 2 starts without load_from, so '
                'expert 1 is untrained; load a stage-1 checkpoint',
                logger='current',
                level=30,
            )
        self._stage_heads()
        hand_class_statistics(
            self.runner.model,
            self._base_dataloader.dataset,
            where='TwoStageTrainLoop',
        )
        self.runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            if self.validates_after(self._epoch):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """Iterate one epoch of the stage the current epoch belongs to."""
        self._enter_epoch()
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for module in self._frozen_outside:
            module.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
