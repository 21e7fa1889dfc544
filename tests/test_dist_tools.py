"""N processes through the shipped launchers: ``tools/dist_train.sh`` and
``tools/dist_test.sh`` (torchrun) on tiny synthetic data.

Without CUDA the tools must join the processes with gloo (the processes are
started with ``CUDA_VISIBLE_DEVICES=''``, so a GPU machine runs this CPU path
too); with CUDA they keep NCCL, which is not exercised here.
"""

import math
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from meid_datatools.synthetic import generate_synthetic_lt
from meid_mmaction.utils.compat import get_pred_score

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
BATCH = 16
TIMEOUT = 300


def _bash(args):
    # the repository's package and this interpreter, in every process
    env = dict(
        os.environ,
        PYTHONUNBUFFERED='1',
        PYTHON=sys.executable,
        PYTHONPATH=REPO,
        OMP_NUM_THREADS='1',
        CUDA_VISIBLE_DEVICES='',
    )
    env.pop('PORT', None)  # single machine: torchrun picks a free port
    proc = subprocess.run(
        ['bash', *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def _lines(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def test_dist_train_and_test_two_cpu_processes(tmp_path, tiny_cfg_options):
    root = str(tmp_path / 'data')
    generate_synthetic_lt(root, preset='tiny', seed=0)
    work = str(tmp_path / 'work')
    config = 'configs/meid_synthetic.py'
    out = _bash(
        [
            'tools/dist_train.sh',
            config,
            '2',
            '--work-dir',
            work,
            '--cfg-options',
            *tiny_cfg_options(root, BATCH),
            'train_cfg.stage1.max_epochs=1',
            'train_cfg.stage2.max_epochs=1',
            'train_cfg.stage1.milestones=[]',
            'train_cfg.stage2.milestones=[]',
        ]
    )
    assert 'Distributed training: True' in out
    assert "dist_cfg=dict(backend='gloo')" in out
    # each of the 2 ranks draws half of the training set per epoch
    num_train = len(_lines(osp.join(root, 'train.lst')))
    iters = math.ceil(num_train / (2 * BATCH))
    assert f'Epoch(train) [1][{iters}/{iters}]' in out, out[-3000:]
    assert f'Epoch(train) [2][{iters}/{iters}]' in out  # stage 2
    ckpt = osp.join(work, 'epoch_2.pth')
    assert osp.isfile(ckpt)

    dump = str(tmp_path / 'preds.pkl')
    out = _bash(
        [
            'tools/dist_test.sh',
            config,
            ckpt,
            '2',
            '--work-dir',
            work,
            '--dump',
            dump,
            '--cfg-options',
            *tiny_cfg_options(root, BATCH),
        ]
    )
    assert f'Test results: test split ({root}/test.lst)' in out
    # the markdown row '| lt/mAP | 0.1234 |' (rank 0 prints the table)
    mean_ap = [
        line.split('|')[2]
        for line in out.splitlines()
        if line.startswith('| lt/mAP ')
    ]
    assert len(mean_ap) == 1, out[-3000:]  # printed by rank 0 only
    # every test video exactly once, gathered from the 2 ranks
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    test = _lines(osp.join(root, 'test.lst'))
    assert sorted(p['video_id'] for p in preds) == sorted(v for v, _ in test)
    labels = np.zeros((len(test), 6))
    for i, (_, classes) in enumerate(test):
        labels[i, [int(c) for c in classes.split(',')]] = 1
    by_id = {p['video_id']: get_pred_score(p).numpy() for p in preds}
    scores = np.stack([by_id[v] for v, _ in test])
    expected = np.mean(
        [
            average_precision_score(labels[:, c], scores[:, c])
            for c in range(6)
            if labels[:, c].any()
        ]
    )
    assert float(mean_ap[0]) == pytest.approx(expected, abs=1e-4)
