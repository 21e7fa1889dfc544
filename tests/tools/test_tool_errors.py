"""A known bad input (a missing annotation file, a missing config) ends a
tool's output in its message, last and alone; the traceback goes to the
run's log file, or to the screen with ``--debug``."""

import importlib.util
import io
import os
import os.path as osp

import pytest

from meid_mmaction.utils.cli import run_tool

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def test_train_tool_missing_annotation_file(tmp_path, run_script):
    missing = tmp_path / 'nodata'
    work = tmp_path / 'work'
    proc = run_script(
        [
            osp.join(REPO, 'tools', 'train.py'),
            osp.join(REPO, 'configs', 'nonlinear_synthetic.py'),
            '--work-dir',
            str(work),
            '--cfg-options',
            f'data_root={missing}',
            'train_dataloader.num_workers=0',
        ],
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr + proc.stdout
    (log,) = [
        osp.join(d, f)
        for d, _, files in os.walk(work)
        for f in files
        if f.endswith('.log')
    ]
    lines = proc.stderr.rstrip('\n').splitlines()
    assert lines[-2:] == [
        f'[traceback in {log}; --debug prints it here]',
        f'FileNotFoundError: annotation file not found: {missing}/train.lst.'
        ' See docs/data.md for how to download VideoLT features or build '
        'the CharadesLT / CharadesEgoLT benchmarks, or run `python '
        'tools/data/generate_synthetic.py` for the synthetic demo data. A '
        'data key (data_root, feat_dir, *_split, ...) set in a child config '
        "or --cfg-options reaches the loaders only through meid_mmaction's "
        "tools; with MMAction2's tools/train.py or Runner.from_cfg the "
        "loaders keep the base config's values: see docs/custom_dataset.md.",
    ]
    with open(log) as f:
        text = f.read()
    assert 'Traceback (most recent call last)' in text
    assert text.rstrip().endswith(
        f'FileNotFoundError: annotation file not found: {missing}/train.lst.'
        + lines[-1].split(f'{missing}/train.lst.')[1]
    )


def _check_tool():
    path = osp.join(REPO, 'tools', 'data', 'check_dataset.py')
    spec = importlib.util.spec_from_file_location('check_dataset', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_run_tool_message_alone_debug_and_bugs(tmp_path):
    cli = _check_tool()
    missing = str(tmp_path / 'nope.py')
    stream = io.StringIO()
    status = run_tool(
        lambda: cli.main(['--config', missing]), argv=[], stream=stream
    )
    assert status == 1
    last = stream.getvalue().rstrip('\n').splitlines()[-1]
    assert last.startswith('FileNotFoundError: ') and missing in last
    assert 'Traceback' not in stream.getvalue()
    # --debug: the error itself, with its traceback
    with pytest.raises(FileNotFoundError):
        run_tool(lambda: cli.main(['--config', missing]), argv=['--debug'])

    def bug():
        raise RuntimeError('a bug')

    with pytest.raises(RuntimeError, match='a bug'):  # not a bad input
        run_tool(bug, argv=[])
    assert run_tool(lambda: None, argv=[]) == 0
    assert run_tool(lambda: 1, argv=[]) == 1
