"""NonFiniteLossHook: a NaN loss stops the run naming the iteration, the
loss terms and the last good checkpoint, or (``action='skip'``) the step is
skipped and counted; non-finite weights are never saved."""

import os
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from test_rng_resume import build_cfg

from meid_datatools.synthetic import generate_synthetic_lt
from meid_mmaction.engine.hooks import NonFiniteLossError, NonFiniteLossHook
from meid_mmaction.utils.checkpoint import load_checkpoint_file


class PoisonBatch(Hook):
    """Fills the inputs of the batch at (0-based) iteration ``at`` with NaN."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            inputs = data_batch['inputs']
            for tensor in inputs if isinstance(inputs, list) else [inputs]:
                tensor.fill_(float('nan'))


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tiny'))
    generate_synthetic_lt(root, preset='tiny', seed=0)
    return root


def _runner(root, work, opts, **hook):
    cfg = build_cfg(
        'nonlinear_synthetic.py',
        root,
        work,
        opts,
        ('train_cfg.max_epochs=2', 'train_cfg.val_interval=10'),
    )
    cfg.custom_hooks = [
        dict(type='NonFiniteLossHook', **hook)
        if h['type'] == 'NonFiniteLossHook'
        else h
        for h in cfg.custom_hooks
    ]
    runner = Runner.from_cfg(cfg)
    per_epoch = len(runner.train_dataloader)
    # the 2nd batch of epoch 2 (iteration per_epoch + 2, 1-based)
    runner.register_hook(PoisonBatch(per_epoch + 1))
    return runner, per_epoch


def test_arguments():
    with pytest.raises(
        ValueError, match=r"action='pause': expected one of \['stop', 'skip'\]"
    ):
        NonFiniteLossHook(action='pause')
    with pytest.raises(
        ValueError, match='max_skips=-1: expected None or an int >= 0'
    ):
        NonFiniteLossHook(action='skip', max_skips=-1)


def test_nan_loss_stops_the_run(tiny_root, tmp_path, tiny_cfg_options):
    work = str(tmp_path)
    runner, per_epoch = _runner(tiny_root, work, tiny_cfg_options)
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    message = str(info.value)
    assert f'iteration {per_epoch + 2} (epoch 2, batch 2)' in message
    # deferred logging records the losses at the next logging iteration
    # (interval 10): found there, the first bad iteration is still named
    assert runner.iter + 1 > per_epoch + 2
    assert 'loss=nan, loss_cls=nan, grad_norm=nan' in message
    assert f'Last good checkpoint: {osp.join(work, "epoch_1.pth")}' in message
    # the NaN step was applied in memory, but nothing after it was saved
    assert any(not torch.isfinite(p).all() for p in runner.model.parameters())
    saved = sorted(n for n in os.listdir(work) if n.endswith('.pth'))
    assert saved == ['epoch_1.pth']
    weights = load_checkpoint_file(osp.join(work, 'epoch_1.pth'))['state_dict']
    assert all(
        torch.isfinite(v).all()
        for v in weights.values()
        if v.is_floating_point()
    )


def test_nan_loss_step_is_skipped(tiny_root, tmp_path, tiny_cfg_options):
    work = str(tmp_path)
    runner, per_epoch = _runner(
        tiny_root, work, tiny_cfg_options, action='skip'
    )
    runner.train()
    assert runner.message_hub.get_info('nonfinite_skipped_steps') == 1
    ckpt = load_checkpoint_file(osp.join(work, 'epoch_2.pth'))
    for value in ckpt['state_dict'].values():
        if value.is_floating_point():
            assert torch.isfinite(value).all()
    # Adam took one step fewer than the run had iterations
    steps = {int(s['step']) for s in ckpt['optimizer']['state'].values()}
    assert steps == {2 * per_epoch - 1}
    assert ckpt['message_hub']['runtime_info']['nonfinite_skipped_steps'] == 1


def test_skip_limit(tiny_root, tmp_path, tiny_cfg_options):
    runner, per_epoch = _runner(
        tiny_root, str(tmp_path), tiny_cfg_options, action='skip', max_skips=0
    )
    with pytest.raises(
        NonFiniteLossError, match='1 steps skipped .* more than max_skips=0'
    ):
        runner.train()


def test_non_finite_weights_are_never_saved(tmp_path):
    runner = SimpleNamespace(iter=7, hooks=[], work_dir=str(tmp_path))
    checkpoint = dict(
        state_dict=dict(
            a=torch.ones(2),
            b=torch.tensor([1.0, float('inf')]),
            n=torch.tensor([3]),
        )
    )
    with pytest.raises(
        NonFiniteLossError,
        match='refusing to save a checkpoint at iteration 7: non-finite '
        'weights in b; last good checkpoint: none',
    ):
        NonFiniteLossHook().before_save_checkpoint(runner, checkpoint)
    checkpoint['state_dict']['b'] = torch.zeros(2)
    NonFiniteLossHook().before_save_checkpoint(runner, checkpoint)
