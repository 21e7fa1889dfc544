"""RNGStateHook: a run stopped after an epoch and resumed equals the
uninterrupted run bit for bit with dropout on (nonlinear head; MEID in each
stage; 2 loader workers; 2 gloo ranks)."""

import argparse
import os
import os.path as osp
import random
import uuid

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from meid_datatools.synthetic import generate_synthetic_lt
from meid_mmaction.engine.hooks.rng_state_hook import (
    capture_rng_state,
    restore_rng_state,
)
from meid_mmaction.utils.checkpoint import load_checkpoint_file
from meid_mmaction.utils.data_keys import apply_data_keys

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tiny'))
    generate_synthetic_lt(root, preset='tiny', seed=0)
    return root


def build_cfg(config, root, work_dir, opts, extra=()):
    """The config as ``tools/train.py`` loads it (options, data keys)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', *opts(root, 8), *extra])
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    cfg.merge_from_dict(args.cfg_options)
    apply_data_keys(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = uuid.uuid4().hex
    cfg.log_level = 'WARNING'
    cfg.default_hooks.checkpoint.save_best = None
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    return cfg


def train(cfg, resume_from=None):
    if resume_from is not None:
        cfg.resume = True
        cfg.load_from = resume_from
    Runner.from_cfg(cfg).train()


def state(path):
    return load_checkpoint_file(path, map_location='cpu')['state_dict']


def assert_same(a, b):
    assert set(a) == set(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def differs(a, b):
    return any(not torch.equal(a[n], b[n]) for n in a)


NONLINEAR = ('train_cfg.max_epochs=2', 'train_cfg.val_interval=1')


def test_capture_restore_round_trip():
    state0 = capture_rng_state()
    draws = (torch.rand(3), np.random.rand(3), random.random())
    np.random.randn()  # leaves a cached gaussian in numpy's state
    restore_rng_state(state0)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(draws[0], again[0])
    assert np.array_equal(draws[1], again[1])
    assert draws[2] == again[2]


def test_cuda_state_of_the_current_device(monkeypatch):
    """The CUDA branch without a GPU: torch.cuda's functions stubbed."""
    cuda = torch.cuda
    saved = torch.arange(16, dtype=torch.uint8)
    calls = []
    monkeypatch.setattr(cuda, 'is_available', lambda: True)
    monkeypatch.setattr(cuda, 'is_initialized', lambda: True)
    monkeypatch.setattr(cuda, 'current_device', lambda: 1)
    monkeypatch.setattr(cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(cuda, 'get_rng_state', lambda device: saved)
    monkeypatch.setattr(
        cuda, 'set_rng_state', lambda s, device: calls.append((s, device))
    )
    state = capture_rng_state()
    assert state['cuda']['device'] == 1
    assert torch.equal(state['cuda']['state'], saved)
    restore_rng_state(state)
    assert len(calls) == 1 and calls[0][1] == 1
    assert torch.equal(calls[0][0], saved)
    monkeypatch.setattr(cuda, 'device_count', lambda: 1)
    restore_rng_state(state)  # device 1 not visible: not restored
    assert len(calls) == 1


def test_nonlinear_dropout_resume_is_exact(
    tiny_root, tmp_path, tiny_cfg_options
):
    full, resumed, bare = (str(tmp_path / n) for n in ('f', 'r', 'b'))
    cfg = build_cfg(
        'nonlinear_synthetic.py', tiny_root, full, tiny_cfg_options, NONLINEAR
    )
    assert cfg.model.cls_head.dropout_ratio == 0.5
    train(cfg)
    ckpt = load_checkpoint_file(osp.join(full, 'epoch_1.pth'))
    saved = ckpt['rng_state']
    assert (saved['epoch'], saved['world_size']) == (1, 1)
    assert saved['ranks'][0]['torch'].dtype == torch.uint8
    train(
        build_cfg(
            'nonlinear_synthetic.py',
            tiny_root,
            resumed,
            tiny_cfg_options,
            NONLINEAR,
        ),
        osp.join(full, 'epoch_1.pth'),
    )
    expected = state(osp.join(full, 'epoch_2.pth'))
    assert_same(expected, state(osp.join(resumed, 'epoch_2.pth')))
    # control: without the hook the resumed run draws other dropout masks
    cfg = build_cfg(
        'nonlinear_synthetic.py', tiny_root, bare, tiny_cfg_options, NONLINEAR
    )
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks if h['type'] != 'RNGStateHook'
    ]
    train(cfg, osp.join(full, 'epoch_1.pth'))
    assert differs(expected, state(osp.join(bare, 'epoch_2.pth')))


def test_nonlinear_two_workers_resume_is_exact(
    tiny_root, tmp_path, tiny_cfg_options
):
    extra = (*NONLINEAR, 'train_dataloader.num_workers=2')
    full, resumed = str(tmp_path / 'f'), str(tmp_path / 'r')
    train(
        build_cfg(
            'nonlinear_synthetic.py', tiny_root, full, tiny_cfg_options, extra
        )
    )
    train(
        build_cfg(
            'nonlinear_synthetic.py',
            tiny_root,
            resumed,
            tiny_cfg_options,
            extra,
        ),
        osp.join(full, 'epoch_1.pth'),
    )
    assert_same(
        state(osp.join(full, 'epoch_2.pth')),
        state(osp.join(resumed, 'epoch_2.pth')),
    )


MEID = (
    'model.cls_head.dropout=0.5',
    'train_cfg.stage1.max_epochs=2',
    'train_cfg.stage1.milestones=[1]',
    'train_cfg.stage2.max_epochs=2',
    'train_cfg.stage2.milestones=[1]',
    'train_cfg.val_interval=1',
)


def test_meid_dropout_resume_is_exact_in_both_stages(
    tiny_root, tmp_path, tiny_cfg_options
):
    full = str(tmp_path / 'f')
    train(
        build_cfg('meid_synthetic.py', tiny_root, full, tiny_cfg_options, MEID)
    )
    expected = state(osp.join(full, 'epoch_4.pth'))
    for epoch in (1, 3):  # stopped in stage 1, stopped in stage 2
        work = str(tmp_path / f'r{epoch}')
        train(
            build_cfg(
                'meid_synthetic.py', tiny_root, work, tiny_cfg_options, MEID
            ),
            osp.join(full, f'epoch_{epoch}.pth'),
        )
        assert_same(expected, state(osp.join(work, 'epoch_4.pth')))


def _gloo_worker(rank, root, work, opts):
    """One of 2 gloo ranks: the full run, then a resume from epoch 1."""
    from meid_mmaction.utils.distributed import destroy_distributed

    os.environ.update(LOCAL_RANK=str(rank), RANK=str(rank), WORLD_SIZE='2')
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        'gloo',
        init_method=f'file://{osp.join(work, "rendezvous")}',
        rank=rank,
        world_size=2,
    )
    try:
        for name, resume_from in (
            ('full', None),
            ('resumed', osp.join(work, 'full', 'epoch_1.pth')),
        ):
            cfg = build_cfg(
                'nonlinear_synthetic.py',
                root,
                osp.join(work, name),
                lambda r, b: opts,
                NONLINEAR,
            )
            cfg.update(
                launcher='pytorch',
                experiment_name=name,
                # ranks draw different dropout masks
                randomness=dict(seed=0, diff_rank_seed=True),
                env_cfg=dict(
                    dist_cfg=dict(backend='gloo'),
                    mp_cfg=dict(mp_start_method='spawn'),
                ),
                model_wrapper_cfg=dict(
                    type='MMDistributedDataParallel', device_ids=None
                ),
            )
            train(cfg, resume_from)
    finally:
        destroy_distributed()


def test_two_gloo_ranks_dropout_resume_is_exact(
    tiny_root, tmp_path, tiny_cfg_options, spawn
):
    work = str(tmp_path)
    spawn(_gloo_worker, args=(tiny_root, work, tiny_cfg_options(tiny_root, 8)))
    saved = load_checkpoint_file(osp.join(work, 'full', 'epoch_1.pth'))
    ranks = saved['rng_state']['ranks']
    assert saved['rng_state']['world_size'] == 2
    assert not torch.equal(ranks[0]['torch'], ranks[1]['torch'])
    assert_same(
        state(osp.join(work, 'full', 'epoch_2.pth')),
        state(osp.join(work, 'resumed', 'epoch_2.pth')),
    )
