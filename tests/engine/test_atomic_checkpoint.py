"""Atomic checkpoint writes: a process killed while saving leaves only
complete checkpoints, and ``last_checkpoint`` names one of them."""

import os
import os.path as osp
import signal
import textwrap
import time

import pytest
from _forkserver import ScriptProcess

from meid_datatools.synthetic import generate_synthetic_lt
from meid_mmaction.engine.hooks import StageCheckpointHook
from meid_mmaction.utils.atomic_backend import atomic_write, is_tmp_name
from meid_mmaction.utils.checkpoint import (
    check_resume_checkpoint,
    find_resume_checkpoint,
)

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.abspath(osp.join(HERE, '..', '..'))


def test_atomic_write_replaces_or_keeps_the_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'f.bin')
    atomic_write(path, b'old')
    atomic_write(path, b'new contents')
    assert open(path, 'rb').read() == b'new contents'

    def broken_fsync(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='disk full'):
        atomic_write(path, b'never')
    assert open(path, 'rb').read() == b'new contents'
    assert os.listdir(tmp_path) == ['f.bin']  # no temporary file left


# The child trains 2 epochs; the write of epoch_2.pth stops half-way (the
# temporary file truncated to half its size) and the child hangs until the
# parent kills it with SIGKILL.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path[:0] = [{here!r}, {tests!r}]
    from conftest import _tiny_cfg_options
    from test_rng_resume import build_cfg, train

    real_fsync = os.fsync

    def hanging_fsync(fd):
        name = os.readlink(f'/proc/self/fd/{{fd}}')
        if '.epoch_2.pth.tmp-' in name:
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            open({marker!r}, 'w').close()
            time.sleep(600)
        real_fsync(fd)

    os.fsync = hanging_fsync
    cfg = build_cfg('nonlinear_synthetic.py', {root!r}, {work!r},
                    _tiny_cfg_options,
                    ('train_cfg.max_epochs=2', 'train_cfg.val_interval=1'))
    cfg.default_hooks.checkpoint.save_best = 'auto'
    train(cfg)
    """
)


@pytest.mark.skipif(
    not osp.isdir('/proc/self/fd'), reason='needs /proc (Linux)'
)
def test_kill_during_save_leaves_complete_checkpoints(tmp_path):
    root, work = str(tmp_path / 'data'), str(tmp_path / 'work')
    marker = str(tmp_path / 'hanging')
    generate_synthetic_lt(root, preset='tiny', seed=0)
    code = CHILD.format(
        here=HERE,
        tests=osp.dirname(HERE),
        marker=marker,
        root=root,
        work=work,
    )
    proc = ScriptProcess(['-c', code])  # a process of its own
    try:
        deadline = time.monotonic() + 240
        while not osp.exists(marker):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(proc.output()[1][-3000:])
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        proc.close()

    names = sorted(os.listdir(work))
    partial = [n for n in names if is_tmp_name(n)]
    assert partial == [f'.epoch_2.pth.tmp-{proc.pid}'], names
    assert 'epoch_2.pth' not in names
    checkpoints = [n for n in names if n.endswith('.pth')]
    assert 'epoch_1.pth' in checkpoints
    assert any(n.startswith('best_') for n in checkpoints), names
    for name in checkpoints:  # every checkpoint file is complete
        check_resume_checkpoint(osp.join(work, name))
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'epoch_1.pth')
    # --resume picks it without falling back
    assert find_resume_checkpoint(work) == (osp.join(work, 'epoch_1.pth'), [])
    # the next run removes the unfinished write
    StageCheckpointHook._remove_tmp_files(work)
    assert not [n for n in os.listdir(work) if is_tmp_name(n)]
