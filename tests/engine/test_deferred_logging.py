"""Deferred scalar logging: the optimizer wrappers clip as mmengine's and
convert nothing to Python between logging steps; DeferredRuntimeInfoHook
records the queued values at LoggerHook's steps."""

import contextlib
import types
import uuid

import pytest
import torch
from mmaction.registry import HOOKS, OPTIM_WRAPPERS
from mmengine.hooks import LoggerHook
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import Runner

import meid_mmaction  # noqa: F401
from meid_mmaction.engine.deferred_scalars import (
    amp_wrapper_type,
    defer_scalar,
    flush_scalars,
    pending_scalars,
)
from meid_mmaction.utils.checkpoint import load_checkpoint_file

SYNCS = ('item', 'tolist', '__bool__', '__int__', '__float__')


@contextlib.contextmanager
def no_tensor_to_python():
    """Every tensor -> Python conversion raises within."""

    def raiser(name):

        def raising(*args, **kwargs):
            raise AssertionError(f'host sync: Tensor.{name} called')

        return raising

    with pytest.MonkeyPatch.context() as mp:
        for name in SYNCS:
            mp.setattr(torch.Tensor, name, raiser(name))
        yield


def new_hub():
    return MessageHub.get_instance(f'test-{uuid.uuid4().hex}')


def model_and_data():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3)
    )
    xs = [torch.randn(4, 5) * 10 for _ in range(5)]
    return model, xs


def run_steps(wrapper_cls, clip_grad, steps_guarded=False, **kwargs):
    """Five steps of ``wrapper_cls``; returns the model, its hub and the
    recorded grad norms (after a flush)."""
    model, xs = model_and_data()
    hub = new_hub()  # the wrapper takes the current message hub
    wrapper = wrapper_cls(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        clip_grad=clip_grad,
        **kwargs,
    )
    guard = no_tensor_to_python if steps_guarded else contextlib.nullcontext
    with guard():
        for x in xs:
            wrapper.update_params(model(x).pow(2).sum())
    flush_scalars(hub)
    norms = (
        hub.get_scalar('train/grad_norm').data[0].tolist()
        if 'train/grad_norm' in hub.log_scalars
        else None
    )
    return model, norms


@pytest.mark.parametrize(
    'clip_grad',
    [
        dict(max_norm=1.0, norm_type=2),
        dict(max_norm=0.5, norm_type=1),
        dict(type='value', clip_value=0.01),
    ],
    ids=['norm2', 'norm1', 'value'],
)
def test_clipping_and_logged_norms_equal_mmengine(clip_grad):
    ref_model, ref_norms = run_steps(OptimWrapper, dict(clip_grad))
    wrapper_cls = OPTIM_WRAPPERS.get('DeferredLogOptimWrapper')
    model, norms = run_steps(wrapper_cls, dict(clip_grad), steps_guarded=True)
    for a, b in zip(ref_model.parameters(), model.parameters()):
        assert torch.equal(a, b)
    assert norms == ref_norms
    if clip_grad.get('type') == 'value':
        assert norms is None  # clip_grad_value_ returns no norm
    else:
        assert len(norms) == 5 and min(norms) > clip_grad['max_norm']


def test_amp_variant_clips_and_logs_as_amp_optim_wrapper(monkeypatch):
    """On a machine without CUDA the AMP wrappers are built with the
    device check patched (the loss scaler is then disabled): both must
    still clip and log alike; tests/test_cuda.py covers CUDA."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_module

    monkeypatch.setattr(amp_module, 'is_cuda_available', lambda: True)
    clip = dict(max_norm=1.0, norm_type=2)
    with pytest.warns(UserWarning):  # GradScaler: CUDA not available
        ref_model, ref_norms = run_steps(AmpOptimWrapper, dict(clip))
        wrapper_cls = OPTIM_WRAPPERS.get('DeferredLogAmpOptimWrapper')
        assert issubclass(wrapper_cls, AmpOptimWrapper)
        model, norms = run_steps(wrapper_cls, dict(clip), steps_guarded=True)
    for a, b in zip(ref_model.parameters(), model.parameters()):
        assert torch.equal(a, b)
    assert norms == ref_norms and len(norms) == 5


def test_amp_wrapper_type_for_tools_train_amp():
    assert amp_wrapper_type('OptimWrapper') == 'AmpOptimWrapper'
    assert (
        amp_wrapper_type('DeferredLogOptimWrapper')
        == 'DeferredLogAmpOptimWrapper'
    )
    assert (
        amp_wrapper_type('DeferredLogAmpOptimWrapper')
        == 'DeferredLogAmpOptimWrapper'
    )
    with pytest.raises(ValueError, match="got 'ZeroRedundancyOptimizer'"):
        amp_wrapper_type('ZeroRedundancyOptimizer')


def test_flush_keeps_order_types_and_values():
    hub = new_hub()
    defer_scalar(hub, 'a', torch.tensor(1.5))
    defer_scalar(hub, 'a', 2)  # a number waits too (order is kept)
    defer_scalar(hub, 'b', torch.tensor([7], dtype=torch.long))
    defer_scalar(hub, 'a', torch.tensor(0.25, dtype=torch.float64))
    assert pending_scalars(hub) == 4 and 'a' not in hub.log_scalars
    flush_scalars(hub)
    assert pending_scalars(hub) == 0
    assert hub.get_scalar('a').data[0].tolist() == [1.5, 2, 0.25]
    assert hub.get_scalar('b').current() == 7
    with pytest.raises(ValueError, match="'c' must have one element"):
        defer_scalar(hub, 'c', torch.zeros(2))


def fake_runner(interval, num_batches, ignore_last=False, logger=True):
    hooks = [LoggerHook(interval=interval, ignore_last=ignore_last)]
    return types.SimpleNamespace(
        hooks=hooks if logger else [],
        message_hub=new_hub(),
        train_dataloader=list(range(num_batches)),
    )


@pytest.mark.parametrize(
    'interval, batches, ignore_last, logs',
    [
        (3, 7, False, [2, 5, 6]),
        (3, 7, True, [2, 5]),
        (10, 4, True, [3]),  # shorter than the interval: logs at the end
    ],
)
def test_hook_records_at_logger_steps_only(
    interval, batches, ignore_last, logs
):
    hook = HOOKS.build(dict(type='DeferredRuntimeInfoHook'))
    runner = fake_runner(interval, batches, ignore_last)
    hub = runner.message_hub
    seen = []
    for i in range(batches):
        out = dict(loss=torch.tensor(float(i)), top1_hit=torch.tensor(0.5))
        guard = contextlib.nullcontext if i in logs else no_tensor_to_python
        with guard():
            hook.after_train_iter(runner, i, outputs=out)
        recorded = hub.log_scalars.get('train/loss')
        seen.append(0 if recorded is None else len(recorded.data[0]))
    expected, count = [], 0
    for i in range(batches):
        if i in logs:
            count = i + 1
        expected.append(count)
    assert seen == expected
    hook.after_train_epoch(runner)
    assert hub.get_scalar('train/loss').data[0].tolist() == [
        float(i) for i in range(batches)
    ]


def test_hook_without_logger_records_every_iteration_and_checkpoint():
    hook = HOOKS.build(dict(type='DeferredRuntimeInfoHook'))
    runner = fake_runner(5, 3, logger=False)
    hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(2.0)))
    assert runner.message_hub.get_scalar('train/loss').current() == 2.0
    # a checkpoint gets the values queued until then
    runner = fake_runner(5, 20)
    for i in range(3):
        hook.after_train_iter(runner, i, outputs=dict(loss=torch.tensor(i)))
    assert pending_scalars(runner.message_hub) == 3
    ckpt = dict(message_hub=runner.message_hub.state_dict())
    hook.before_save_checkpoint(runner, ckpt)
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert buf.data[0].tolist() == [0, 1, 2]


class _ToyModel(BaseModel):
    """``[B, 2]`` inputs -> ``[B]``; squared error loss."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc(torch.stack(inputs)).squeeze(1)
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels)) ** 2).mean())
        return out


class _ToyData(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(
            inputs=torch.full((2,), float(i)), labels=torch.tensor(3.0 * i)
        )


def _run(work_dir, deferred):
    torch.manual_seed(0)  # the model is built before the Runner seeds
    runner = Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'deferred_{deferred}_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=_ToyData(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='pseudo_collate'),
        ),
        optim_wrapper=dict(
            type='DeferredLogOptimWrapper' if deferred else 'OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01),
            clip_grad=dict(max_norm=1.0),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(
            runtime_info=dict(
                type='DeferredRuntimeInfoHook'
                if deferred
                else 'RuntimeInfoHook'
            ),
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=3),
        ),
        randomness=dict(seed=1),
        default_scope='mmaction',
    )
    runner.train()
    ckpt = load_checkpoint_file(str(work_dir / 'epoch_2.pth'))
    scalars = {
        key: runner.message_hub.get_scalar(key).data[0].tolist()
        for key in ('train/loss', 'train/grad_norm')
    }
    saved = {
        key: ckpt['message_hub']['log_scalars'][key].data[0].tolist()
        for key in scalars
    }
    return scalars, saved, ckpt['state_dict']


def test_runner_logs_and_checkpoints_equal_mmengine(tmp_path):
    """A Runner with the deferred hook and wrapper records the same losses
    and gradient norms (in the hub and in the checkpoint) and trains the
    same weights as with mmengine's."""
    (tmp_path / 'ref').mkdir()
    (tmp_path / 'new').mkdir()
    ref = _run(tmp_path / 'ref', deferred=False)
    new = _run(tmp_path / 'new', deferred=True)
    assert len(ref[0]['train/loss']) == 8
    assert new[0] == ref[0] and new[1] == ref[1]
    for key, value in ref[2].items():
        assert torch.equal(value, new[2][key]), key
