"""``.ci/run`` runs exactly the README's set-up, demo and test commands."""

import os.path as osp
import re

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))


def _read(name):
    with open(osp.join(REPO, name), encoding='utf-8') as f:
        return f.read()


def _readme_commands():
    """Commands of the README's bash blocks (comments stripped)."""
    commands = []
    for block in re.findall(
        r'```bash\n(.*?)```', _read('README.md'), flags=re.S
    ):
        for line in block.splitlines():
            line = line.split('#', 1)[0].strip()
            if line:
                commands.append(line)
    return commands


def _ci_commands():
    commands = []
    for line in _read('.ci/run').splitlines():
        line = line.strip()
        if not line or line.startswith(('#', 'set ', 'cd ')):
            continue
        commands.append(line)
    return commands


def test_ci_runs_the_readme_commands():
    readme = _readme_commands()
    ci = _ci_commands()
    setup = [c for c in readme if c.startswith('pip install')]
    assert len(setup) == 1, setup  # the set-up is one command
    assert ci == [
        setup[0],
        'bash tools/demo.sh',
        'python -m pytest -q',
        'ruff check .',
        'ruff format --check .',
        'interrogate meid_mmaction meid_datatools',
    ]
    for command in ci:
        assert command in readme, command
