import os
import os.path as osp

import pytest

#: Real annotation files (VideoLT lists, Charades CSVs): the directory named
#: by the environment variable ``MEID_SHARED_DATA``, by default
#: ``../shared/data`` next to the repository.
SHARED_DATA = os.environ.get(
    'MEID_SHARED_DATA',
    osp.abspath(osp.join(osp.dirname(__file__), '..', '..', 'shared', 'data')),
)

#: seconds a multi-process test may take before its processes are killed
#: (generous: the CI machine's cores may be shared with other jobs)
SPAWN_TIMEOUT = 180


@pytest.fixture(scope='session', autouse=True)
def memoized_pretty_text():
    """Format each distinct config once per test session.

    mmengine's ``Config.pretty_text`` runs yapf over the whole config, and
    the Runner asks for it at start (log, dump) and on every checkpoint
    save: most of the time of the in-process training tests went there.
    The text is a function of the config's content (and its format flag),
    so it is kept per ``repr`` of the content: the same text as before,
    computed once.
    """
    from mmengine.config import Config

    original = Config.pretty_text
    cache = {}

    def pretty_text(self):
        key = (self._format_python_code, repr(self._cfg_dict))
        if key not in cache:
            cache[key] = original.fget(self)
        return cache[key]

    Config.pretty_text = property(pretty_text)
    yield
    Config.pretty_text = original


@pytest.fixture
def shared_data():
    """Path of the shared real data (``MEID_SHARED_DATA``); skip if absent."""
    if not osp.isdir(SHARED_DATA):
        pytest.skip(
            f'{SHARED_DATA} is not available (set MEID_SHARED_DATA '
            'to the shared data directory)'
        )
    return SHARED_DATA


def spawn_with_timeout(fn, args=(), nprocs=2, timeout=SPAWN_TIMEOUT):
    """Run ``fn(rank, *args)`` in ``nprocs`` processes; fail after
    ``timeout`` s.

    The processes are forked from the test session's fork server
    (``_forkserver.py``: torch / mmengine / mmaction2 imported, nothing
    run). A process
    that fails re-raises in the test (as ``torch.multiprocessing.spawn``
    does); processes still running at the deadline (e.g. a rank stuck in a
    collective) are killed and the test fails instead of hanging the suite.
    """
    from _forkserver import start_processes

    try:
        start_processes(fn, args, nprocs, timeout)
    except TimeoutError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def spawn():
    """:func:`spawn_with_timeout` for multi-process tests."""
    return spawn_with_timeout


@pytest.fixture(scope='session')
def run_script():
    """``run_script(args, cwd=None, env=None, timeout=600)``: ``python
    ARGS`` in a process forked from the fork server, as
    ``subprocess.run(..., capture_output=True, text=True)`` returns it."""
    from _forkserver import run_script

    return run_script


#: Run once in a fresh interpreter by :func:`fresh_import`: import the
#: runtime package and its subpackages, then mmaction2's models (mmcv-lite
#: warns at that import), then emit mmcv-like warnings to see what the
#: package's filter keeps; stdout: the ``meid_datatools`` modules loaded.
FRESH_IMPORT_PROBE = """
import sys, warnings
import meid_mmaction, meid_mmaction.datasets, meid_mmaction.engine
import meid_mmaction.evaluation, meid_mmaction.models, meid_mmaction.utils
print(sorted(m for m in sys.modules if 'datatools' in m))
import mmaction.models  # imports mmcv.cnn.bricks.transformer
for message in ('Fail to import ``MultiScaleDeformableAttention`` from '
                '``mmcv.ops.multi_scale_deform_attn``, ...',
                'another mmcv warning'):
    warnings.warn_explicit(message, UserWarning, 'transformer.py', 33,
                           module='mmcv.cnn.bricks.transformer')
warnings.warn_explicit(
    'Fail to import ``MultiScaleDeformableAttention`` elsewhere',
    UserWarning, 'other.py', 1, module='other_package')
"""


def _fresh_python(args, timeout=120):
    """``python ARGS`` in a fresh interpreter (a real subprocess), run in
    the repository with its package first on the path and no
    ``PYTHONWARNINGS``; asserts exit status 0 and returns
    ``(stdout, stderr)``."""
    import subprocess
    import sys

    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=repo)
    env.pop('PYTHONWARNINGS', None)
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, proc.stderr


@pytest.fixture(scope='session')
def fresh_python():
    """:func:`_fresh_python`: for what only a fresh interpreter shows
    (import-time behaviour); anything else forks (``run_script``)."""
    return _fresh_python


@pytest.fixture(scope='session')
def fresh_import():
    """``(stdout, stderr)`` of :data:`FRESH_IMPORT_PROBE` run once in a
    fresh interpreter (import-time behaviour needs one), shared by the
    tests that check what importing the package does."""
    return _fresh_python(['-c', FRESH_IMPORT_PROBE])


def _tiny_cfg_options(root, batch_size=16):
    """``--cfg-options`` that point a synthetic config at a dataset made by
    ``generate_synthetic_lt(root, preset='tiny')`` (6 classes, 8-d): the
    data keys (docs/custom_dataset.md), the head's sizes, and loaders
    without worker processes."""
    opts = [
        f'data_root={root}',
        'num_classes=6',
        'feat_dim=8',
        'head_thr=30',
        'tail_thr=5',
        'model.cls_head.num_classes=6',
        'model.cls_head.in_channels=8',
        f'train_dataloader.batch_size={batch_size}',
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
        ]
    return opts


@pytest.fixture(scope='session')
def tiny_cfg_options():
    """The function ``(root, batch_size=16) -> list of --cfg-options`` for
    a ``'tiny'`` synthetic dataset at ``root``."""
    return _tiny_cfg_options


def pytest_collection_finish(session):
    """Move everything alive after collection out of the collector's sight.

    mmengine's ``BaseDataset`` calls ``gc.collect()`` each time it is
    built, and a full collection walks every object of the process: with
    torch, mmengine, mmaction2 and ~1,100 collected tests loaded that was
    0.15-0.3 s per dataset, about 35 s of the suite. ``gc.freeze()`` puts
    the objects of this moment (modules, test functions) in the permanent
    generation; what the tests create is collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
