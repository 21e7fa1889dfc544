"""``meid_mmaction.utils.distributed``: the CPU path of ``--launcher
pytorch`` (the real 2-process runs are in ``test_dist_tools.py`` and
``engine/test_two_stage_loop.py``)."""

import datetime

import pytest
import torch
from mmengine.config import Config

from meid_mmaction.utils import distributed

ENV = dict(
    RANK='1',
    WORLD_SIZE='2',
    MASTER_ADDR='127.0.0.1',
    MASTER_PORT='29999',
    LOCAL_RANK='1',
)


@pytest.fixture
def no_cuda(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(distributed.dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(
        distributed.dist, 'init_process_group', lambda **kw: calls.append(kw)
    )
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    return calls


def test_cpu_sets_gloo_and_wrapper_without_device_ids(no_cuda):
    cfg = Config(
        dict(
            launcher='pytorch',
            find_unused_parameters=True,
            env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)),
        )
    )
    assert distributed.setup_cpu_distributed(cfg) is True
    assert no_cuda == [
        dict(backend='gloo', timeout=datetime.timedelta(seconds=60))
    ]
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=True,
        device_ids=None,
    )


def test_cpu_keeps_the_configured_ddp_wrapper(no_cuda):
    cfg = Config(
        dict(
            launcher='pytorch',
            model_wrapper_cfg=dict(
                type='MMDistributedDataParallel', find_unused_parameters=True
            ),
        )
    )
    distributed.setup_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        find_unused_parameters=True,
        device_ids=None,
    )
    assert no_cuda == [dict(backend='gloo')]


def test_not_launched_or_cuda_does_nothing(no_cuda, monkeypatch):
    cfg = Config(dict(launcher='none'))
    assert distributed.setup_cpu_distributed(cfg) is False
    assert 'env_cfg' not in cfg and 'model_wrapper_cfg' not in cfg
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config(dict(launcher='pytorch'))
    assert distributed.setup_cpu_distributed(cfg) is False
    assert 'model_wrapper_cfg' not in cfg
    assert no_cuda == []


def test_missing_torchrun_environment(no_cuda, monkeypatch):
    monkeypatch.delenv('MASTER_PORT')
    monkeypatch.delenv('WORLD_SIZE')
    with pytest.raises(
        RuntimeError,
        match=r'missing WORLD_SIZE, '
        r'MASTER_PORT\. Start N processes with `bash '
        r'tools/dist_train.sh CONFIG N`',
    ):
        distributed.setup_cpu_distributed(Config(dict(launcher='pytorch')))


def test_destroy_frees_a_group_and_skips_the_collections_without_one(
    tmp_path, monkeypatch
):
    import gc

    collections = []
    monkeypatch.setattr(gc, 'collect', lambda *a: collections.append(a))
    assert not distributed.dist.is_initialized()
    distributed.destroy_distributed()  # one process: nothing to free
    assert collections == []
    distributed.dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "rdzv"}', rank=0, world_size=1
    )
    try:
        distributed.destroy_distributed()
        assert not distributed.dist.is_initialized()
        assert len(collections) == 2  # before (references), after (group)
    finally:
        if distributed.dist.is_initialized():
            distributed.dist.destroy_process_group()
