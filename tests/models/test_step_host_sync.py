"""A training step of MEID needs no host synchronisation and runs under
mixed precision (what can be checked without a GPU)."""

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import meid_mmaction  # noqa: F401
from meid_mmaction.utils import set_gt_label

C, D, N = 6, 16, 5
GROUPS = dict(head=[0, 1], medium=[2, 3], tail=[4, 5])
SYNCS = ('item', 'tolist', '__bool__', '__int__', '__float__')


def make_head(**kwargs):
    cfg = dict(type='MEIDHead', num_classes=C, in_channels=D)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    for m in head.modules():
        if hasattr(m, 'set_class_groups'):
            m.set_class_groups(GROUPS)
    return head


def batch(n=4):
    torch.manual_seed(1)
    x = torch.randn(n, N, D)
    data = []
    for i in range(n):
        target = torch.zeros(C)
        target[i % C] = 1.0
        data.append(set_gt_label(ActionDataSample(), target))
    return x, data


@pytest.fixture
def no_host_sync(monkeypatch):
    """Make every tensor -> Python conversion raise."""

    def fail(name):

        def raising(*args, **kwargs):
            raise AssertionError(f'host sync: Tensor.{name} called')

        return raising

    def install():
        for name in SYNCS:
            monkeypatch.setattr(torch.Tensor, name, fail(name))

    return install


@pytest.mark.parametrize('stage', [1, 2])
@pytest.mark.parametrize('expert2', ['complementary', 'attention'])
def test_training_step_has_no_tensor_to_python(stage, expert2, no_host_sync):
    head = make_head(expert2=expert2)
    head.set_train_stage(stage)
    head.train()
    x, data = batch()
    no_host_sync()
    losses = head.loss(x, data)
    sum(losses.values()).backward()
    assert set(losses) == {'loss_cls', 'loss_distill'}


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(cfs_norm='max'),
        dict(cfs_norm='rank', cfs_background_thr=0.5),
        dict(stage2_loss='expert2', distill2_necks='expert1'),
        dict(loss_distill=dict(type='HeadTailDistillLoss', neck_mode='unit')),
        dict(
            loss_distill=dict(type='HeadTailDistillLoss', neck_mode='frozen')
        ),
    ],
    ids=lambda kw: '-'.join(f'{k}={v}' for k, v in kw.items())[:40],
)
def test_variants_step_has_no_tensor_to_python(kwargs):
    head = make_head(**kwargs)
    for stage in (1, 2):
        head.set_train_stage(stage)
        head.train()
        x, data = batch()
        with pytest.MonkeyPatch.context() as mp:
            for name in SYNCS:
                mp.setattr(torch.Tensor, name, _raiser(name))
            losses = head.loss(x, data)
            sum(losses.values()).backward()


def _raiser(name):

    def raising(*args, **kwargs):
        raise AssertionError(f'host sync: Tensor.{name} called')

    return raising


def test_host_copies_follow_loaded_state():
    head = make_head()
    head.set_train_stage(2)
    fresh = MODELS.build(dict(type='MEIDHead', num_classes=C, in_channels=D))
    assert fresh.stage == 1 and not fresh.distill1.has_class_groups
    fresh.load_state_dict(head.state_dict())
    assert fresh.stage == 2
    assert fresh.distill1.has_class_groups
    assert fresh.distill2.has_class_groups
    fresh.train()
    assert not fresh.expert1.training and fresh.expert2.training
    x, data = batch()
    torch.testing.assert_close(
        fresh.loss(x, data)['loss_distill'], head.loss(x, data)['loss_distill']
    )


@pytest.mark.parametrize('stage', [1, 2])
def test_bf16_autocast_step_matches_float32(stage):
    head = make_head()
    head.set_train_stage(stage)
    head.train()
    x, data = batch(8)
    ref = head.loss(x, data)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        amp = head.loss(x, data)
    for key, value in amp.items():
        assert value.dtype == torch.float32, key
        assert torch.isfinite(value)
        # bf16 keeps ~3 significant digits
        torch.testing.assert_close(value, ref[key], rtol=5e-2, atol=5e-3)
    sum(amp.values()).backward()
    grads = [p.grad for p in head.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
