"""Checks that need a CUDA GPU (pytest marker ``cuda``; all skip without
one). ``tools/benchmark/gpu_check.sh`` runs them with the speed benchmarks.
The feature bank on the GPU is checked in
``tests/datasets/test_batched_reading.py`` (same marker)."""

import os

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from test_configs import CONFIGS, load_config, step_data

import meid_mmaction  # noqa: F401
from meid_mmaction.evaluation.metrics import LongTailMAP
from meid_mmaction.utils import set_gt_label, set_pred_score

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA'),
]
GROUPS = dict(head=[0, 1], medium=[2], tail=[3, 4])


def _samples(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.round(torch.rand(n, c, generator=g), decimals=2)
    labels = torch.rand(n, c, generator=g) < 0.2
    labels[torch.arange(n), torch.randint(c, (n,), generator=g)] = True
    out = []
    for s, y in zip(scores, labels):
        d = ActionDataSample()
        set_pred_score(d, s)
        set_gt_label(d, y.float())
        out.append(d)
    return out


def test_long_tail_map_cuda_equals_cpu():
    c = 40
    meta = dict(class_counts=tuple(range(c, 0, -1)), group_thresholds=(25, 8))
    results = {}
    for device in ('cpu', 'cuda'):
        metric = LongTailMAP(topk=(1, 5), device=device)
        metric.dataset_meta = meta
        samples = _samples(300, c, seed=0)
        for i in range(0, 300, 32):
            metric.process({}, samples[i : i + 32])
        results[device] = metric.compute_metrics(metric.results)
    assert results['cpu'].keys() == results['cuda'].keys()
    for key, value in results['cpu'].items():
        assert results['cuda'][key] == pytest.approx(value, abs=1e-12), key


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_amp_training_steps_every_config(path, dtype):
    """``--amp``: AmpOptimWrapper train steps (both MEID stages) give
    finite float32 losses and finite, updated parameters, at the config's
    own sizes (NetVLAD's 134 M-weight projections included)."""
    cfg = load_config(path, small=False)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).cuda()
    head = model.cls_head
    data = step_data(cfg, model, 4)
    optim_cfg = dict(cfg.optim_wrapper)
    optim_cfg.update(type='AmpOptimWrapper', dtype=dtype, loss_scale='dynamic')
    optim = build_optim_wrapper(model, optim_cfg)
    stages = [1, 2] if hasattr(head, 'set_train_stage') else [1]
    for stage in stages:
        if hasattr(head, 'set_train_stage'):
            head.set_train_stage(stage)
        model.train()
        before = {
            n: p.detach().clone()
            for n, p in model.named_parameters()
            if p.requires_grad
        }
        for _ in range(3):  # fp16: the first steps may skip (loss scale)
            log = model.train_step(data, optim)
        for key, value in log.items():
            assert value.dtype == torch.float32, (key, value.dtype)
            assert torch.isfinite(value), (path, stage, key, value)
        params = dict(model.named_parameters())
        assert all(torch.isfinite(params[n]).all() for n in before)
        moved = [
            n
            for n, p in before.items()
            if not torch.equal(p, params[n].detach())
        ]
        assert moved, f'{path} stage {stage}: no parameter was updated'


@pytest.mark.parametrize('stage', [1, 2])
def test_meid_training_step_makes_no_host_sync(stage):
    """No GPU -> host synchronisation in MEIDHead's loss and backward."""
    head = MODELS.build(
        dict(type='MEIDHead', num_classes=5, in_channels=16)
    ).cuda()
    for m in (head.distill1, head.distill2):
        m.set_class_groups(GROUPS)
    head.set_train_stage(stage)
    head.train()
    x = torch.randn(4, 6, 16, device='cuda')
    data = []
    for i in range(4):
        target = torch.zeros(5, device='cuda')
        target[i] = 1.0
        data.append(set_gt_label(ActionDataSample(), target))
    head.loss(x, data)  # warm-up (lazy CUDA initialisation)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        losses = head.loss(x, data)
        sum(losses.values()).backward()
    finally:
        torch.cuda.set_sync_debug_mode('default')


def _nccl_worker(rank, out_dir):
    import torch.distributed as tdist
    from torch.nn.parallel import DistributedDataParallel

    torch.cuda.set_device(rank)
    tdist.init_process_group(
        'nccl',
        init_method=f'file://{os.path.join(out_dir, "rdzv")}',
        rank=rank,
        world_size=2,
    )
    try:
        init_default_scope('mmaction')
        torch.manual_seed(0)
        head = MODELS.build(
            dict(type='MEIDHead', num_classes=5, in_channels=16)
        ).cuda()
        for m in (head.distill1, head.distill2):
            m.set_class_groups(GROUPS)
        ddp = DistributedDataParallel(
            head, device_ids=[rank], find_unused_parameters=True
        )
        g = torch.Generator().manual_seed(1)
        x = torch.randn(8, 6, 16, generator=g)[rank::2].cuda()
        y = torch.zeros(8, 5)
        y[torch.arange(8), torch.arange(8) % 5] = 1
        data = [set_gt_label(ActionDataSample(), t.cuda()) for t in y[rank::2]]
        loss = ddp.module.loss_by_feat(ddp(x), data)['loss_cls']
        loss.backward()
        grad = head.expert1.fc_cls.weight.grad.cpu()
        torch.save(grad, os.path.join(out_dir, f'grad{rank}.pt'))
        metric = LongTailMAP(topk=(1,), collect_device='gpu')
        metric.dataset_meta = dict(
            class_counts=(9, 8, 5, 4, 2), group_thresholds=(6, 2)
        )
        samples = _samples(10, 5, seed=2)
        metric.process({}, samples[rank::2])
        torch.save(metric.evaluate(10), os.path.join(out_dir, f'm{rank}.pt'))
    finally:
        tdist.destroy_process_group()


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs 2 GPUs')
def test_two_process_nccl(tmp_path):
    """DDP over NCCL: the gradient of the classification loss equals the
    single-process full-batch gradient, and LongTailMAP gathered over NCCL
    equals the single-process metric."""
    torch.multiprocessing.spawn(
        _nccl_worker, args=(str(tmp_path),), nprocs=2, join=True
    )
    init_default_scope('mmaction')
    torch.manual_seed(0)
    head = MODELS.build(dict(type='MEIDHead', num_classes=5, in_channels=16))
    for m in (head.distill1, head.distill2):
        m.set_class_groups(GROUPS)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 6, 16, generator=g)
    x = torch.cat([x[0::2], x[1::2]])  # rank 0's half, then rank 1's
    y = torch.zeros(8, 5)
    y[torch.arange(8), torch.arange(8) % 5] = 1
    y = torch.cat([y[0::2], y[1::2]])
    data = [set_gt_label(ActionDataSample(), t) for t in y]
    head.loss_by_feat(head(x), data)['loss_cls'].backward()
    expected = head.expert1.fc_cls.weight.grad
    for r in range(2):
        torch.testing.assert_close(
            torch.load(tmp_path / f'grad{r}.pt'),
            expected,
            rtol=1e-4,
            atol=1e-6,
        )
    single = LongTailMAP(topk=(1,), device='cpu')
    single.dataset_meta = dict(
        class_counts=(9, 8, 5, 4, 2), group_thresholds=(6, 2)
    )
    single.process({}, _samples(10, 5, seed=2))
    want = {
        f'lt/{k}': v for k, v in single.compute_metrics(single.results).items()
    }
    for r in range(2):
        got = torch.load(tmp_path / f'm{r}.pt')
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert got[key] == pytest.approx(value, abs=1e-12), key


def test_feature_preprocessor_equals_mmaction_on_cuda():
    """Labels moved in one copy (FeatureDataPreprocessor.cast_samples)
    equal MMAction2's per-sample copies on the GPU."""
    from mmaction.models.data_preprocessors import ActionDataPreprocessor

    from meid_mmaction.models.data_preprocessors import (
        FeatureDataPreprocessor,
    )
    from meid_mmaction.utils import get_gt_label

    def data():
        g = torch.Generator().manual_seed(0)
        return dict(
            inputs=list(torch.randn(6, 1, 4, 3, generator=g)),
            data_samples=[
                set_gt_label(
                    ActionDataSample(),
                    (torch.rand(5, generator=g) < 0.5).float(),
                )
                for _ in range(6)
            ],
        )

    ours = FeatureDataPreprocessor().cuda()(data(), training=True)
    ref = ActionDataPreprocessor().cuda()(data(), training=True)
    assert torch.equal(ours['inputs'], ref['inputs'])
    for a, b in zip(ours['data_samples'], ref['data_samples']):
        assert get_gt_label(a).is_cuda
        assert torch.equal(get_gt_label(a), get_gt_label(b))


def _cuda_sync_free(fn, warmup=1):
    """Run ``fn`` ``warmup`` times, then once with CUDA's sync debug mode
    raising on any synchronising call (blocking copies included)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        return fn()
    finally:
        torch.cuda.set_sync_debug_mode('default')


def _loss_cfgs():
    from models.test_step_host_sync import LOSSES

    return LOSSES


@pytest.mark.parametrize('masked', [False, True], ids=['plain', 'label_mask'])
@pytest.mark.parametrize('index', range(10))
def test_every_loss_step_makes_no_host_sync(index, masked):
    """Each loss of tests/models/test_step_host_sync.py, label-masked or
    not, on CUDA: loss and backward without a synchronisation."""
    from models.test_step_host_sync import batch as plain_batch
    from models.test_step_host_sync import loss_head, masked_batch

    head = loss_head(_loss_cfgs()[index]).cuda()
    x, data = masked_batch() if masked else plain_batch()
    x = x.cuda()
    data = [d.to('cuda') for d in data]

    def step():
        head.loss(x, data)['loss_cls'].backward()

    _cuda_sync_free(step)


@pytest.mark.parametrize('blending', ['MultiLabelMixup', 'FrameStack'])
def test_blending_step_makes_no_host_sync(blending):
    """The preprocessor's training forward with each blending on CUDA."""
    pre = MODELS.build(
        dict(
            type='FeatureDataPreprocessor',
            blending=dict(type=blending, num_classes=6),
        )
    ).cuda()
    pre.train()
    if blending == 'FrameStack':
        pre.blending.set_class_ap([0.9, 0.5, 0.2, 0.1, 0.0, 0.3])
    x = torch.randn(8, 1, 5, 4, device='cuda')
    data = []
    for i in range(8):
        target = torch.zeros(6, device='cuda')
        target[i % 6] = 1.0
        data.append(set_gt_label(ActionDataSample(), target))

    def step():
        pre(dict(inputs=list(x.unbind(0)), data_samples=data), training=True)

    _cuda_sync_free(step)


def test_deferred_log_optim_wrapper_step_makes_no_host_sync():
    """Clipping with DeferredLogOptimWrapper: no float(grad_norm)."""
    init_default_scope('mmaction')
    model = torch.nn.Linear(8, 3).cuda()
    optim = build_optim_wrapper(
        model,
        dict(
            type='DeferredLogOptimWrapper',
            optimizer=dict(type='Adam', lr=1e-3),
            clip_grad=dict(max_norm=0.1),
        ),
    )
    x = torch.randn(4, 8, device='cuda')

    def step():
        optim.update_params(model(x).pow(2).sum())

    _cuda_sync_free(step)
