"""tools/benchmark/bench_step.py: the generic step split, its counts and
the bank batch it times."""

import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def load_tool(name):
    path = osp.join(ROOT, 'tools', 'benchmark', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def bench():
    return load_tool('bench_step')


@pytest.fixture(scope='module')
def tiny_run(bench, tmp_path_factory):
    """One generic-split profile of the synthetic nonlinear config at
    B 4, N 3, D 96 (its head: 96 -> 96 -> 50)."""
    out = tmp_path_factory.mktemp('bench_step') / 'out.json'
    bench.main(
        [
            '--config',
            osp.join(ROOT, 'configs', 'nonlinear_synthetic.py'),
            '--split',
            'generic',
            '--batch',
            '4',
            '--frames',
            '3',
            '--dim',
            '96',
            '--flops',
            '--repeats',
            '1',
            '--warmup',
            '0',
            '--json',
            str(out),
        ]
    )
    with open(out) as f:
        return json.load(f)['results']['none/stage1']


def test_generic_split_counts(tiny_run):
    # fc1: 96 x 96 + 96, fc2: 96 x 50 + 50
    assert tiny_run['params'] == 96 * 96 + 96 + 96 * 50 + 50
    assert tiny_run['trainable_params'] == tiny_run['params']
    # B * N = 12 rows; fc1 forward + weight gradient (its input needs no
    # gradient), fc2 forward + input and weight gradients: 2 M K N each.
    fc1 = 2 * 12 * 96 * 96
    fc2 = 2 * 12 * 96 * 50
    assert tiny_run['flops'] == 2 * fc1 + 3 * fc2
    times = tiny_run['times']
    assert set(times) == {
        'data',
        'preprocess',
        'forward+loss',
        'backward',
        'optimizer',
        'train_step (total)',
    }
    assert times['train_step (total)'] == pytest.approx(
        sum(
            v
            for k, v in times.items()
            if k not in ('data', 'train_step (total)')
        )
    )
    cpu = tiny_run['thread_cpu_times']
    assert set(cpu) == set(times)
    assert all(v >= 0 for v in cpu.values())
    assert tiny_run['shape'] == dict(batch=4, frames=3, dim=96)
    assert tiny_run['peak_rss_bytes'] >= tiny_run['rss_before_bytes'] > 0


def test_bank_batch_is_the_per_sample_draw(bench):
    """The timed bank batch gathers the frames the per-sample pipeline
    draws for ``(seed 0, epoch = step, index)``."""
    from meid_mmaction.datasets.feature_bank import FeatureBank
    from meid_mmaction.datasets.transforms.sampling import (
        seeded_frame_indices,
    )

    videos, frames, dim = 6, 5, 4
    data = torch.randn(videos * frames, dim).half()
    lengths = torch.full((videos,), frames, dtype=torch.int64)
    first = torch.arange(videos) * frames
    bank = FeatureBank(data, first, lengths, None)
    draw = dict(bank=bank, batch=3, frames=7, step=[4])
    out = bench.bank_batch(draw, 'cpu')
    # the batch's videos: the tool's generator for step 5
    g = torch.Generator().manual_seed(5)
    idx = torch.randint(videos, (3,), generator=g).tolist()
    inds = seeded_frame_indices([(0, 5, i) for i in idx], [frames] * 3, 7)
    want = np.stack(
        [data[first[v] + inds[k]].float().numpy() for k, v in enumerate(idx)]
    )
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), want)


def test_shape_from_config(bench):
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'meid_videolt_r101.py'))

    class Args:
        batch, frames, dim = 1, 1, 1

    bench.shape_from_config(cfg, Args)
    assert (Args.batch, Args.frames, Args.dim) == (
        cfg.train_dataloader.batch_size,
        cfg.train_clip_len,
        cfg.feat_dim,
    )
