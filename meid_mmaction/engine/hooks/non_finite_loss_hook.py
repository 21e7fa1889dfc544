"""Stop (or skip the step) when a training loss or gradient is not finite."""

import math
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from ..deferred_scalars import pending_scalars

#: the values of ``action``
ACTIONS = ('stop', 'skip')


class NonFiniteLossError(RuntimeError):
    """A training loss, gradient or saved weight is NaN or infinite."""


def _last_checkpoint(runner) -> str:
    """The newest checkpoint this run saved or resumed from, or a note."""
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook) and hook.last_ckpt:
            return str(hook.last_ckpt)
    marker = osp.join(runner.work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker, encoding='utf-8') as f:
            path = f.read().strip()
        if path:
            return path
    return 'none (no checkpoint was saved yet)'


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops training at the first NaN / inf loss or gradient, or skips
    such steps.

    ``action='stop'`` (default) raises :class:`NonFiniteLossError` after the
    iteration whose loss terms (``loss``, ``loss_cls``, ...) or gradient norm
    (``grad_norm``, logged when ``optim_wrapper.clip_grad`` is set) is not
    finite. The message names the iteration (1-based, as logged), the
    non-finite terms with their values, and the last good checkpoint to
    resume from. It costs nothing per step: it reads the values recorded
    for the log in the message hub, adding no device-to-host sync. With
    ``DeferredRuntimeInfoHook`` (the default) those are recorded in one
    transfer at the logging iterations and at the end of each epoch, so
    the check runs there and scans every iteration recorded since the last
    check, naming the first bad one; the run stops at most one logging
    interval after it (the weights in memory may then be non-finite). The
    error is raised before ``CheckpointHook`` runs (and at the end of each
    epoch, before its checkpoint), so non-finite weights are never saved.
    With AMP (``AmpOptimWrapper``) an infinite gradient norm is the loss
    scaler's business (it skips such steps and lowers the scale) and is not
    checked; a non-finite loss is.

    ``action='skip'`` checks, before each optimizer step, that the loss and
    every gradient are finite, and skips the step (gradients zeroed, no
    parameter or optimizer-state update) when they are not. Deciding
    before the step needs the result on the host: one extra sync per step
    (one stacked ``isfinite`` reduction), which is why it is opt-in. Each
    skipped step is logged as a warning (iteration, terms); the count is
    in the message hub (``nonfinite_skipped_steps``, kept in checkpoints)
    and in the log after training. ``max_skips`` stops the run once more
    steps than that were skipped. With ``AmpOptimWrapper`` the loss scaler
    already skips non-finite steps, so this hook leaves it alone.

    Every checkpoint is also checked (``before_save_checkpoint``, on the CPU
    copy mmengine makes anyway): a non-finite floating point weight raises
    :class:`NonFiniteLossError` instead of writing the file.

    Args:
        action (str): ``'stop'`` or ``'skip'``. Defaults to ``'stop'``.
        max_skips (int, optional): With ``'skip'``, the most skipped steps
            allowed; None for no limit. Defaults to None.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, action: str = 'stop', max_skips: Optional[int] = None):
        if action not in ACTIONS:
            raise ValueError(
                f'NonFiniteLossHook action={action!r}: expected one of '
                f'{list(ACTIONS)}'
            )
        if max_skips is not None and (
            isinstance(max_skips, bool)
            or not isinstance(max_skips, int)
            or max_skips < 0
        ):
            raise ValueError(
                f'NonFiniteLossHook max_skips={max_skips!r}: expected None '
                'or an int >= 0'
            )
        self.action = action
        self.max_skips = max_skips
        self._loss: Optional[torch.Tensor] = None
        self._skipped_now = False
        self._amp = False
        self._checked = 0  # training iterations checked so far

    # ------------------------------------------------------------------
    # wrapping the optimizer step ('skip')
    @staticmethod
    def _wrappers(runner) -> List[OptimWrapper]:
        wrapper = runner.optim_wrapper
        if isinstance(wrapper, OptimWrapperDict):
            return list(wrapper.values())
        return [wrapper] if isinstance(wrapper, OptimWrapper) else []

    def _finite(self, wrapper: OptimWrapper) -> bool:
        """Loss and all gradients finite: one host sync."""
        flags = []
        if self._loss is not None:
            flags.append(torch.isfinite(self._loss.detach()).all())
        for group in wrapper.optimizer.param_groups:
            for param in group['params']:
                if param.grad is not None:
                    flags.append(torch.isfinite(param.grad).all())
        if not flags:
            return True
        devices = {f.device for f in flags}
        if len(devices) > 1:
            flags = [f.cpu() for f in flags]
        return bool(torch.stack(flags).all())

    def _wrap(self, wrapper: OptimWrapper) -> None:
        update_params, step = wrapper.update_params, wrapper.step
        hook = self

        def checked_update_params(loss, *args, **kwargs):
            hook._loss = loss
            try:
                return update_params(loss, *args, **kwargs)
            finally:
                hook._loss = None

        def checked_step(**kwargs):
            if hook._finite(wrapper):
                return step(**kwargs)
            hook._skipped_now = True
            return None

        if hasattr(step, '_with_counter'):  # mmengine's scheduler check
            checked_step._with_counter = step._with_counter
        wrapper.update_params = checked_update_params
        wrapper.step = checked_step

    def before_train(self, runner) -> None:
        """With ``'skip'``, check the loss and gradients before each step."""
        self._checked = runner.iter  # resumed: earlier iterations were
        wrappers = self._wrappers(runner)
        self._amp = any(isinstance(w, AmpOptimWrapper) for w in wrappers)
        if self.action != 'skip':
            return
        for wrapper in wrappers:
            if not isinstance(wrapper, AmpOptimWrapper):
                self._wrap(wrapper)

    # ------------------------------------------------------------------
    # checks
    def _bad_terms(self, runner, outputs) -> Dict[str, float]:
        """Non-finite terms of the latest recorded iteration ('skip')."""
        scalars = runner.message_hub.log_scalars
        keys = [f'train/{k}' for k in (outputs or {})]
        if not self._amp:
            keys.append('train/grad_norm')
        bad = {}
        for key in keys:
            buf = scalars.get(key)
            if buf is None:
                continue
            value = float(buf.current())
            if not math.isfinite(value):
                bad[key[len('train/') :]] = value
        return bad

    def _first_bad(self, runner, done: int) -> Tuple[int, Dict[str, float]]:
        """``(iteration, terms)`` of the first non-finite recorded value of
        the iterations ``self._checked + 1 .. done`` (1-based), or
        ``(0, {})``. Nothing is checked while values wait to be recorded
        (deferred logging): they are checked once recorded."""
        hub = runner.message_hub
        if pending_scalars(hub):
            return 0, {}
        new = done - self._checked
        if new <= 0:
            return 0, {}
        self._checked = done
        first, terms = 0, {}
        names = [
            k[len('train/') :]
            for k in hub.log_scalars
            if k.startswith('train/loss')
        ]
        if not self._amp and 'train/grad_norm' in hub.log_scalars:
            names.append('grad_norm')  # the loss terms first, as logged
        for name in names:
            values = hub.log_scalars[f'train/{name}'].data[0][-new:]
            for i, value in enumerate(values.tolist()):
                if not math.isfinite(value):
                    it = done - len(values) + i + 1
                    if first == 0 or it < first:
                        first, terms = it, {}
                    if it == first:
                        terms[name] = value
                    break
        return first, terms

    def _stop_if_bad(self, runner, done: int, batch_idx=None) -> None:
        first, terms = self._first_bad(runner, done)
        if not first:
            return
        what = ', '.join(f'{k}={v}' for k, v in terms.items())
        batch = None if batch_idx is None else batch_idx + 1 - (done - first)
        where = f'(epoch {runner.epoch + 1}' + (
            f', batch {batch})' if batch is not None and batch >= 1 else ')'
        )
        message = (
            f'NonFiniteLossHook: non-finite training value at iteration '
            f'{first} {where}: {what}. Training stopped; nothing of this '
            f'or later iterations is saved. Last good checkpoint: '
            f'{_last_checkpoint(runner)} (resume from it with --resume, '
            'e.g. with a lower learning rate, or set '
            "custom_hooks NonFiniteLossHook action='skip')"
        )
        print_log(message, logger='current', level=40)
        raise NonFiniteLossError(message)

    def after_train_epoch(self, runner) -> None:
        """Check what was recorded at the epoch's end, before its
        checkpoint (``'stop'``)."""
        if self.action == 'stop':
            self._stop_if_bad(runner, runner.iter)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        """Stop, or count and log a skipped step."""
        skipped, self._skipped_now = self._skipped_now, False
        if self.action == 'skip':
            if not skipped:
                return
            hub = runner.message_hub
            count = (hub.get_info('nonfinite_skipped_steps') or 0) + 1
            hub.update_info('nonfinite_skipped_steps', count)
            terms = self._bad_terms(runner, outputs)
            what = ', '.join(f'{k}={v}' for k, v in terms.items())
            print_log(
                f'NonFiniteLossHook: iteration {runner.iter + 1}: skipped '
                f'the optimizer step, non-finite loss or gradient '
                f'({what or "a gradient"}); {count} step(s) skipped so far',
                logger='current',
                level=30,
            )
            if self.max_skips is not None and count > self.max_skips:
                raise NonFiniteLossError(
                    f'NonFiniteLossHook: {count} steps skipped for '
                    f'non-finite losses or gradients, more than '
                    f'max_skips={self.max_skips}; last good checkpoint: '
                    f'{_last_checkpoint(runner)}'
                )
            return
        self._stop_if_bad(runner, runner.iter + 1, batch_idx)

    def after_train(self, runner) -> None:
        """Report the number of skipped steps."""
        count = runner.message_hub.get_info('nonfinite_skipped_steps')
        if count:
            print_log(
                f'NonFiniteLossHook: {count} optimizer step(s) were skipped '
                'for non-finite losses or gradients',
                logger='current',
                level=30,
            )

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to write non-finite weights."""
        bad = [
            name
            for name, value in checkpoint.get('state_dict', {}).items()
            if isinstance(value, torch.Tensor)
            and value.is_floating_point()
            and not bool(torch.isfinite(value).all())
        ]
        if bad:
            raise NonFiniteLossError(
                f'NonFiniteLossHook: refusing to save a checkpoint at '
                f'iteration {runner.iter}: non-finite weights in '
                f'{", ".join(bad[:5])}{" ..." if len(bad) > 5 else ""}; '
                f'last good checkpoint: {_last_checkpoint(runner)}'
            )
