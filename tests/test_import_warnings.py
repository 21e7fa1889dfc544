"""Importing the package silences exactly mmcv-lite's
``MultiScaleDeformableAttention`` warning and nothing else."""

import os
import os.path as osp
import subprocess
import sys

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))


def _stderr(args):
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop('PYTHONWARNINGS', None)
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


def test_only_the_msda_warning_is_silenced(fresh_import):
    err = fresh_import[1]
    assert 'mmcv-lite' not in err  # the real import-time warning
    assert 'another mmcv warning' in err
    # same text from another module is not filtered
    assert 'MultiScaleDeformableAttention`` elsewhere' in err
    assert err.count('MultiScaleDeformableAttention') == 1


def test_tools_print_no_msda_warning():
    err = _stderr(['tools/test.py', '--help'])
    assert 'MultiScaleDeformableAttention' not in err
