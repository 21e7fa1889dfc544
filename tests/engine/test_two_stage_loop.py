"""TwoStageTrainLoop on tiny feature files (seconds, CPU)."""

import copy
import logging
import os
import os.path as osp
import uuid

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from mmengine.runner import Runner

import meid_mmaction  # noqa: F401
from meid_mmaction.datasets import feature_collate

C, D, FRAMES = 4, 6, 5
# class counts 8 / 5 / 3 / 2 -> head {0, 1} (> 4), medium {2}, tail {3}
TRAIN = [
    [0],
    [0, 1],
    [0],
    [0, 2],
    [0, 1],
    [0],
    [0, 3],
    [0, 1],
    [1, 2],
    [1],
    [2, 3],
]
EXPERT1 = ('cls_head.expert1.', 'cls_head.distill1.')


def write_data(root):
    rng = np.random.default_rng(0)
    feat_dir = osp.join(root, 'feats')
    os.makedirs(feat_dir, exist_ok=True)
    lines = []
    for i, labels in enumerate(TRAIN):
        x = rng.normal(size=(FRAMES, D)).astype(np.float32)
        x[:, labels] += 2.0
        np.save(osp.join(feat_dir, f'v{i}.npy'), x)
        lines.append(f'v{i} ' + ','.join(map(str, labels)))
    for split in ('train', 'val'):
        with open(osp.join(root, f'{split}.lst'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return root


def dataset_cfg(root, test_mode=False):
    return dict(
        type='MultiLabelFeatureDataset',
        ann_file=osp.join(root, 'val.lst' if test_mode else 'train.lst'),
        train_ann_file=osp.join(root, 'train.lst'),
        num_classes=C,
        head_thr=4,
        tail_thr=2,
        data_prefix=dict(feat=osp.join(root, 'feats')),
        feat_dim=D,
        test_mode=test_mode,
        # training frames are random draws, seeded per (seed, epoch, sample)
        # by FrameSamplingSeedHook, so resume must reproduce them exactly
        pipeline=[
            dict(type='OpenFeatures'),
            dict(type='SampleFeatureFrames', clip_len=4, test_mode=test_mode),
            dict(type='LoadFeatureFrames'),
            dict(type='PackFeatureInputs'),
        ],
    )


class Recorder(Hook):
    """Records lr per epoch and the head stage at each validation."""

    def __init__(self):
        self.lrs, self.val_stages, self.ckpt_stages = [], [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            self.lrs.append(
                runner.optim_wrapper.optimizer.param_groups[0]['lr']
            )

    def after_val_epoch(self, runner, metrics=None):
        self.val_stages.append(runner.model.cls_head.stage)


def make_cfg(root, work_dir, **train_cfg):
    loop = dict(
        type='TwoStageTrainLoop',
        stage1=dict(max_epochs=2, milestones=[1]),
        stage2=dict(
            max_epochs=2,
            lr=1e-3,
            milestones=[1],
            sampler=dict(type='ClassBalancedSampler'),
        ),
        val_interval=100,
    )
    loop.update(train_cfg)
    return dict(
        default_scope='mmaction',
        work_dir=work_dir,
        experiment_name=uuid.uuid4().hex,
        model=dict(
            type='FeatureRecognizer',
            cls_head=dict(
                type='MEIDHead',
                num_classes=C,
                in_channels=D,
                hidden_channels=8,
                loss_distill=dict(type='HeadTailDistillLoss', neck_channels=4),
            ),
            data_preprocessor=dict(type='ActionDataPreprocessor'),
        ),
        train_dataloader=dict(
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dataset_cfg(root),
        ),
        val_dataloader=dict(
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dataset_cfg(root, test_mode=True),
        ),
        val_evaluator=dict(type='LongTailMAP', topk=(1,)),
        val_cfg=dict(type='ValLoop'),
        train_cfg=loop,
        optim_wrapper=dict(
            optimizer=dict(type='Adam', lr=1e-2), clip_grad=dict(max_norm=20)
        ),
        param_scheduler=[],
        custom_hooks=[dict(type='FrameSamplingSeedHook')],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1),
        ),
        randomness=dict(seed=0),
        log_level='WARNING',
    )


def run(cfg, hook=None):
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    if hook is not None:
        runner.register_hook(hook)
    runner.train()
    return runner


def weights(path):
    state = torch.load(path, map_location='cpu', weights_only=False)
    return state['state_dict']


@pytest.fixture(scope='module')
def full_run(tmp_path_factory):
    root = write_data(str(tmp_path_factory.mktemp('data')))
    work = str(tmp_path_factory.mktemp('full'))
    rec = Recorder()
    runner = run(make_cfg(root, work), rec)
    return root, work, rec, runner


def test_two_stage_end_to_end(full_run):
    root, work, rec, runner = full_run
    ck = [weights(osp.join(work, f'epoch_{e}.pth')) for e in (1, 2, 3, 4)]
    assert [c['cls_head.train_stage'].item() for c in ck] == [1, 1, 2, 2]
    # lr: stage 1 (1e-2, x0.1 after 1 epoch), stage 2 (1e-3, x0.1 after 1)
    np.testing.assert_allclose(rec.lrs, [1e-2, 1e-3, 1e-3, 1e-4])
    # validation after each stage with that stage's prediction
    assert rec.val_stages == [1, 2]
    for name in ck[0]:
        if not name.startswith(('cls_head.expert', 'cls_head.distill')):
            continue
        if name.endswith(('_mask', 'groups_set')):
            continue
        e1 = name.startswith(EXPERT1)
        # stage 1 trains expert 1 only
        assert torch.equal(ck[0][name], ck[1][name]) != e1, name
        # stage 2 leaves expert 1 bit-identical and trains expert 2
        assert torch.equal(ck[1][name], ck[3][name]) == e1, name
        assert torch.equal(ck[2][name], ck[3][name]) == e1, name
    # class groups reached the distillation masks
    assert ck[0]['cls_head.distill1.head_mask'].tolist() == [1, 1, 0, 0]
    assert ck[0]['cls_head.distill2.tail_mask'].tolist() == [0, 0, 0, 1]
    sampler = runner.train_loop.dataloader.sampler
    assert type(sampler).__name__ == 'ClassBalancedSampler'


@pytest.mark.parametrize('epoch', [2, 3])
def test_resume_matches_uninterrupted(full_run, tmp_path, epoch):
    root, work, _, _ = full_run
    cfg = make_cfg(root, str(tmp_path))
    cfg.update(resume=True, load_from=osp.join(work, f'epoch_{epoch}.pth'))
    rec = Recorder()
    run(cfg, rec)
    assert len(rec.lrs) == 4 - epoch
    expected = weights(osp.join(work, 'epoch_4.pth'))
    resumed = weights(osp.join(str(tmp_path), 'epoch_4.pth'))
    for name, value in expected.items():
        assert torch.equal(value, resumed[name]), name


def test_stage2_alone_from_stage1_checkpoint(full_run, tmp_path):
    root, work, _, _ = full_run
    cfg = make_cfg(root, str(tmp_path), stages=(2,))
    cfg.update(load_from=osp.join(work, 'epoch_2.pth'))
    rec = Recorder()
    logger_msgs = []

    class Capture(logging.Handler):
        def emit(self, record):
            logger_msgs.append(record.getMessage())

    run_runner = Runner.from_cfg(copy.deepcopy(cfg))
    run_runner.register_hook(rec)
    handler = Capture()
    MMLogger.get_current_instance().addHandler(handler)
    MMLogger.get_current_instance().setLevel(logging.INFO)
    try:
        run_runner.train()
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    np.testing.assert_allclose(rec.lrs, [1e-3, 1e-4])
    assert rec.val_stages == [2]
    start = weights(osp.join(work, 'epoch_2.pth'))
    end = weights(osp.join(str(tmp_path), 'epoch_2.pth'))
    for name in start:
        if name.startswith(EXPERT1):
            assert torch.equal(start[name], end[name]), name
    msg = [m for m in logger_msgs if 'stage 2 trains' in m]
    assert msg and 'trainable: cls_head.expert2' in msg[0]
    assert 'frozen: cls_head.expert1' in msg[0]


def test_loop_config_errors(full_run, tmp_path):
    root = full_run[0]
    bad = [
        (dict(stages=(2, 1)), r'stages=\(2, 1\) is not supported'),
        (dict(stage1=dict(epochs=3)), r"stage1 has unknown keys \['epochs'\]"),
        (
            dict(stage2=dict(max_epochs=0)),
            'stage2 max_epochs must be a positive int, got 0',
        ),
        (
            dict(stage2=dict(max_epochs=2, milestones=[3, 1])),
            r'milestones must be increasing positive ints, got \[3, 1\]',
        ),
        (
            dict(stage1=dict(max_epochs=2, lr=-1.0)),
            'stage1 lr must be > 0 or None',
        ),
        (
            dict(stage1=dict(lr=1e-3)),
            'stage1 max_epochs must be a positive int, got None',
        ),
    ]
    for train_cfg, match in bad:
        cfg = make_cfg(root, str(tmp_path), **train_cfg)
        with pytest.raises(ValueError, match=match):
            Runner.from_cfg(cfg).train()


def test_loop_runtime_errors(full_run, tmp_path):
    root = full_run[0]
    cfg = make_cfg(root, str(tmp_path))
    cfg['param_scheduler'] = [dict(type='MultiStepLR', milestones=[1])]
    with pytest.raises(ValueError, match='set param_scheduler = \\[\\]'):
        Runner.from_cfg(cfg).train()
    cfg = make_cfg(root, str(tmp_path))
    cfg['model']['cls_head'] = dict(
        type='NonlinearClsHead', num_classes=C, in_channels=D
    )
    with pytest.raises(
        ValueError,
        match='needs a model with a two-stage '
        'head .* FeatureRecognizer has none',
    ):
        Runner.from_cfg(cfg).train()


def _gloo_threads():
    """Names of this process's gloo threads (Linux ``/proc``)."""
    names = []
    for tid in os.listdir('/proc/self/task'):
        with open(f'/proc/self/task/{tid}/comm') as f:
            names.append(f.read().strip())
    return sorted(n for n in names if 'gloo' in n)


def _ddp_worker(rank, root, work):
    """One of 2 gloo ranks: a 1 + 1 epoch run under DDP."""
    from meid_mmaction.utils.distributed import destroy_distributed

    os.environ.update(LOCAL_RANK=str(rank), RANK=str(rank), WORLD_SIZE='2')
    torch.set_num_threads(1)
    # mmengine's 'pytorch' launcher would call torch.cuda.set_device
    # a file rendezvous: no TCP port that another process could take
    torch.distributed.init_process_group(
        'gloo',
        init_method=f'file://{osp.join(work, "rendezvous")}',
        rank=rank,
        world_size=2,
    )
    try:
        cfg = make_cfg(
            root,
            work,
            stage1=dict(max_epochs=1, milestones=[]),
            stage2=dict(max_epochs=1, milestones=[]),
        )
        cfg.update(
            launcher='pytorch',
            experiment_name='ddp',
            # keep the start method of this spawned process (no workers)
            env_cfg=dict(
                dist_cfg=dict(backend='gloo'),
                mp_cfg=dict(mp_start_method='spawn'),
            ),
            model_wrapper_cfg=dict(
                type='MMDistributedDataParallel',
                find_unused_parameters=True,
                device_ids=None,
            ),
        )
        runner = run(cfg)
        torch.save(
            runner.model.module.state_dict(), osp.join(work, f'rank{rank}.pth')
        )
        del runner
    finally:
        # The finished runner (in reference cycles) holds the DDP model,
        # which holds the group: destroy_process_group alone left gloo's
        # threads running into interpreter exit, where the process could
        # abort ("terminate called without an active exception").
        destroy_distributed()
    with open(osp.join(work, f'threads{rank}.txt'), 'w') as f:
        f.write(' '.join(_gloo_threads()))


def test_two_gloo_processes(full_run, tmp_path, spawn):
    root, work = full_run[0], str(tmp_path)
    spawn(_ddp_worker, args=(root, work), nprocs=2)
    for rank in range(2):  # every gloo thread was joined before exit
        assert (tmp_path / f'threads{rank}.txt').read_text() == ''
    r0 = torch.load(osp.join(work, 'rank0.pth'), weights_only=False)
    r1 = torch.load(osp.join(work, 'rank1.pth'), weights_only=False)
    stage1 = weights(osp.join(work, 'epoch_1.pth'))
    for name, value in r0.items():
        assert torch.equal(value, r1[name]), name  # ranks stay in sync
        if name.startswith('cls_head.expert1.'):
            assert torch.equal(value, stage1[name]), name
        elif name.startswith('cls_head.expert2.'):
            assert not torch.equal(value, stage1[name]), name
    assert r0['cls_head.train_stage'].item() == 2


@OPTIM_WRAPPERS.register_module(force=True)
class KeepGradsOptimWrapper(OptimWrapper):
    """``zero_grad(set_to_none=False)``: old gradients stay as zeros."""

    def zero_grad(self, **kwargs) -> None:
        self.optimizer.zero_grad(set_to_none=False)


@pytest.mark.parametrize(
    'optimizer',
    [
        dict(type='Adam', lr=1e-2),
        dict(type='SGD', lr=1e-2, momentum=0.9, weight_decay=0.1),
        dict(type='AdamW', lr=1e-2, weight_decay=0.1),
    ],
)
def test_stage2_frozen_expert1_never_moves(full_run, tmp_path, optimizer):
    # With zero_grad(set_to_none=False), stage 1's gradients would survive
    # as zero tensors: Adam's moments, SGD's momentum and weight decay
    # would still move expert 1 in stage 2 unless the loop drops them.
    root = full_run[0]
    cfg = make_cfg(root, str(tmp_path))
    cfg['optim_wrapper'] = dict(
        type='KeepGradsOptimWrapper', optimizer=optimizer
    )
    runner = run(cfg)
    end1 = weights(osp.join(str(tmp_path), 'epoch_2.pth'))
    end2 = weights(osp.join(str(tmp_path), 'epoch_4.pth'))
    moved = [
        n
        for n in end1
        if n.startswith(EXPERT1) and not torch.equal(end1[n], end2[n])
    ]
    assert not moved
    assert any(
        not torch.equal(end1[n], end2[n])
        for n in end1
        if n.startswith('cls_head.expert2.')
    )
    head = runner.model.cls_head
    optim = runner.optim_wrapper.optimizer
    for module in head.stage_modules(1):
        for p in module.parameters():
            assert p.grad is None and p not in optim.state


def test_bank_batches_and_deferred_logging_train_as_per_sample(
    full_run, tmp_path
):
    """Both stages (stage 2 label-masked) through a float32 feature bank,
    ``feature_collate`` (no per-video sample in a step), the deferred
    logging hook and optimizer wrapper give the per-sample path's weights,
    logged losses and gradient norms bit for bit."""
    root = full_run[0]
    stage2 = dict(
        max_epochs=2,
        lr=1e-3,
        milestones=[1],
        sampler=dict(type='ClassBalancedSampler', label_mask=True),
    )
    results = []
    for fast in (False, True):
        work = str(tmp_path / f'fast_{fast}')
        cfg = make_cfg(root, work, stage2=stage2)
        cfg['model']['data_preprocessor'] = dict(
            type='FeatureDataPreprocessor'
        )
        if fast:
            loader = cfg['train_dataloader']
            loader['dataset']['feature_bank'] = dict(dtype='float32')
            loader['collate_fn'] = dict(type='feature_collate')
            cfg['optim_wrapper']['type'] = 'DeferredLogOptimWrapper'
            cfg['default_hooks']['runtime_info'] = dict(
                type='DeferredRuntimeInfoHook'
            )
        runner = run(cfg)
        dataset = runner.train_loop.dataloader.dataset
        assert (dataset._batched is not None) == fast  # the bank was used
        collate = runner.train_loop.dataloader.collate_fn
        assert fast == (getattr(collate, 'func', collate) is feature_collate)
        hub = runner.message_hub
        results.append(
            (
                weights(osp.join(work, 'epoch_4.pth')),
                hub.get_scalar('train/loss').data[0].tolist(),
                hub.get_scalar('train/grad_norm').data[0].tolist(),
            )
        )
    (ref_w, ref_loss, ref_norm), (w, loss, norm) = results
    assert loss == ref_loss and norm == ref_norm and len(loss) > 4
    for name, value in ref_w.items():
        assert torch.equal(value, w[name]), name
