"""The tests' process helper (``tests/_forkserver.py``) reports what
``subprocess.run`` would for the same ``python ARGS``."""

import os.path as osp
import subprocess
import sys

import pytest

CASES = [
    ('print("out"); import sys; print("err", file=sys.stderr)', 0),
    ('import sys; sys.exit(3)', 3),
    ('import sys; sys.exit("bad input")', 1),
    ('raise KeyError("k")', 1),
    ('import os, sys; print(os.getcwd(), sys.argv[1:])', 0),
]


@pytest.mark.parametrize('code, status', CASES)
def test_same_status_and_output_as_a_subprocess(
    code, status, run_script, tmp_path
):
    args = ['-c', code, 'a1']
    real = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    forked = run_script(args, cwd=str(tmp_path), timeout=60)
    assert real.returncode == forked.returncode == status
    assert forked.stdout == real.stdout
    # the traceback's last line (the frames name other files)
    assert forked.stderr.splitlines()[-1:] == real.stderr.splitlines()[-1:]


def test_script_sees_its_directory_and_the_environment(run_script, tmp_path):
    script = tmp_path / 'tool' / 'main.py'
    script.parent.mkdir()
    (script.parent / 'sibling.py').write_text('VALUE = 7\n')
    script.write_text(
        'import os, sibling\nprint(sibling.VALUE, os.environ["PROBE"])\n'
    )
    proc = run_script(
        [osp.join('tool', 'main.py')], cwd=str(tmp_path), env={'PROBE': 'x'}
    )
    assert (proc.returncode, proc.stdout) == (0, '7 x\n')


def test_timeout_kills_the_process(run_script):
    with pytest.raises(subprocess.TimeoutExpired):
        run_script(['-c', 'import time; time.sleep(60)'], timeout=1)
