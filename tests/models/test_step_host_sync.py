"""A training step needs no host synchronisation: MEID, every loss, the
label mask of resampling and every blending (what can be checked without a
GPU: every tensor -> Python conversion, ``.cpu()`` / ``.numpy()`` and
``nonzero`` raise during the step; tests/test_cuda.py checks the same steps
with CUDA's sync debug mode). MEID also runs under mixed precision."""

import contextlib

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import meid_mmaction  # noqa: F401
from meid_mmaction.utils import set_gt_label

C, D, N = 6, 16, 5
GROUPS = dict(head=[0, 1], medium=[2, 3], tail=[4, 5])
SYNCS = (
    'item',
    'tolist',
    '__bool__',
    '__int__',
    '__float__',
    '__index__',
    'numpy',
    'cpu',
    'nonzero',
)


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


@contextlib.contextmanager
def host_sync_guard():
    """Within: every tensor -> Python conversion (and ``torch.nonzero``,
    whose output size is data-dependent) raises AssertionError."""
    with pytest.MonkeyPatch.context() as mp:
        for name in SYNCS:
            mp.setattr(torch.Tensor, name, _raiser(name))
        mp.setattr(torch, 'nonzero', _raiser('nonzero'))
        yield


COUNTS = [50, 30, 12, 6, 2, 1]
LOSSES = [
    dict(type='MultiLabelFocalLoss'),
    dict(type='MultiLabelFocalLoss', gamma=0.0, reduction='batch_sum'),
    dict(type='ClassBalancedLoss'),
    dict(type='ClassBalancedLoss', base='bce', reduction='sum'),
    dict(type='LDAMLoss', drw_epoch=None),
    dict(type='LDAMLoss', drw_epoch=0, margin_mode='per_class'),
    dict(type='EQLLoss', drop_prob=0.5),
    dict(type='EQLLoss', drop_prob=0.5, seed=None),
    dict(type='EQLLoss', mode='threshold', tail_thr=6),
    dict(type='EQLLoss', tail_freq=0.05, reduction='batch_sum'),
]


def loss_head(loss_cfg):
    """A NonlinearClsHead with ``loss_cfg`` and the hook's hand-offs."""
    head = MODELS.build(
        dict(
            type='NonlinearClsHead',
            num_classes=C,
            in_channels=D,
            loss_cls=loss_cfg,
            topk=(1, 2),
        )
    )
    for m in head.modules():
        if hasattr(m, 'set_class_counts'):
            m.set_class_counts(COUNTS)
        if hasattr(m, 'set_class_groups'):
            m.set_class_groups(GROUPS)
    return head.train()


def masked_batch(n=4):
    """Features ``[n, N, D]`` and samples of two classes each, drawn for
    one of them (the label mask) except the last."""
    x, data = batch(n)
    for i, ds in enumerate(data):
        target = torch.zeros(C)
        target[[i % C, (i + 1) % C]] = 1.0
        set_gt_label(ds, target)
        if i < n - 1:
            ds.set_metainfo(dict(drawn_class=(i + 1) % C))
    return x, data


@pytest.mark.parametrize('masked', [False, True], ids=['plain', 'label_mask'])
@pytest.mark.parametrize(
    'loss_cfg',
    LOSSES,
    ids=lambda c: '-'.join(f'{v}' for v in c.values())[:40],
)
def test_every_loss_step_has_no_tensor_to_python(loss_cfg, masked):
    """Every loss of the package, with and without the label mask, through
    a head's loss and backward, for three steps (EQL draws each step)."""
    head = loss_head(loss_cfg)
    x, data = masked_batch() if masked else batch()
    with host_sync_guard():
        for _ in range(3):
            losses = head.loss(x, data)
            losses['loss_cls'].backward()
    assert torch.isfinite(losses['loss_cls'])
    if loss_cfg.get('mode', 'random') == 'random' and 'EQL' in str(loss_cfg):
        assert head.loss_cls.num_steps.item() == 3 and head.loss_cls.step == 3


@pytest.mark.parametrize('stage', [1, 2])
def test_meid_label_mask_step_has_no_tensor_to_python(stage):
    """MEID's released-code stage 2: a label-masked batch."""
    head = make_head()
    head.set_train_stage(stage)
    head.train()
    x, data = masked_batch()
    with host_sync_guard():
        losses = head.loss(x, data)
        sum(losses.values()).backward()


@pytest.mark.parametrize(
    'blending',
    [
        dict(type='MultiLabelMixup', num_classes=C),
        dict(type='FrameStack', num_classes=C),
        dict(type='FrameStack', num_classes=C, ratio=1.0),
    ],
    ids=['mixup', 'framestack', 'framestack-all'],
)
@pytest.mark.parametrize('views', [False, True], ids=['samples', 'bank'])
def test_blending_step_has_no_tensor_to_python(blending, views):
    """The data preprocessor's training forward with every blending, for
    separate per-sample inputs and for views of one batch tensor (the
    feature bank's)."""
    pre = MODELS.build(
        dict(type='FeatureDataPreprocessor', blending=blending)
    ).train()
    if hasattr(pre.blending, 'set_class_ap'):
        pre.blending.set_class_ap([0.9, 0.5, 0.2, 0.1, 0.0, 0.3])
    x, data = batch(6)
    x = x.unsqueeze(1)  # [B, 1, N, D]
    inputs = list(x.unbind(0)) if views else [t.clone() for t in x]
    with host_sync_guard():
        for _ in range(2):
            out = pre(dict(inputs=inputs, data_samples=data), training=True)
    assert out['inputs'].shape == (6, 1, N, D)
    assert pre.blending.step == 2 and pre.blending.num_steps.item() == 2
