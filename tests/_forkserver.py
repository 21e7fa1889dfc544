"""Test processes forked from a server that has the heavy imports done.

A fresh interpreter spends ~2.2 s importing torch, mmengine and mmaction2
before it does anything; the multi-process and tool tests start ~25 such
processes. ``multiprocessing``'s ``forkserver`` start method forks each of
them from one server process that imported :data:`PRELOAD` (third-party
modules only) once and has run nothing else: no thread pool, no process
group, no state of earlier tests (a fork of the test process itself would
inherit them, and a fork after torch ran parallel code can hang). The
child imports ``meid_mmaction`` itself (~0.1 s on top of the preload), so a
tool's own imports and registrations run as in a fresh interpreter.

What needs a fresh interpreter stays a real subprocess: the import-time
checks (``fresh_import`` in ``conftest.py``), MMAction2's own
``tools/train.py`` (``test_mmaction_tools.py``) and ``torchrun``
(``test_dist_tools.py``).
"""

import multiprocessing
import os
import os.path as osp
import runpy
import subprocess
import sys
import tempfile
import time
import traceback

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: what the server imports once, before it forks any test process: the
#: third-party stack ``meid_mmaction`` builds on (importing it warns about
#: nothing; ``mmaction.models`` would, before the package's filter)
PRELOAD = [
    'torch',
    'mmengine.runner',
    'mmaction.registry',
    'mmaction.structures',
]


def context():
    """The ``forkserver`` context, its server set to import
    :data:`PRELOAD` (effective when the server starts: at its first use
    in the test session)."""
    multiprocessing.set_forkserver_preload(PRELOAD)
    return multiprocessing.get_context('forkserver')


def _redirect(fd, path):
    """Point file descriptor ``fd`` (1 or 2) at ``path`` and return a
    line-buffered text stream on it."""
    new = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(new, fd)
    os.close(new)
    return open(fd, 'w', buffering=1, closefd=False)


def _main(args, cwd, env, out_path, err_path):
    """Body of a script process: ``python ARGS`` run in ``cwd`` with the
    environment ``env``, stdout / stderr into the two files; exits with
    the script's status (1 and the traceback on stderr for an uncaught
    exception, as the interpreter does)."""
    sys.stdout = _redirect(1, out_path)
    sys.stderr = _redirect(2, err_path)
    # this repository's package (not another checkout's editable install),
    # as ``PYTHONPATH=REPO`` gives a fresh interpreter
    sys.path.insert(0, REPO)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    code = 0
    try:
        if args[0] == '-c':
            sys.argv = ['-c', *args[2:]]
            sys.path.insert(0, '')
            exec(
                compile(args[1], '<string>', 'exec'), {'__name__': '__main__'}
            )
        else:
            sys.argv = list(args)
            sys.path.insert(0, osp.dirname(osp.abspath(args[0])))
            runpy.run_path(args[0], run_name='__main__')
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class ScriptProcess:
    """``python ARGS`` running in a forked process (cf.
    ``subprocess.Popen``); its stdout / stderr go to temporary files.

    Args:
        args (list[str]): What follows ``python``: a script path (relative
            to ``cwd``) and its arguments, or ``'-c'`` and code.
        cwd (str, optional): Working directory; default the current one.
        env (dict, optional): The whole environment; default the current
            one.
    """

    def __init__(self, args, cwd=None, env=None):
        self._tmp = tempfile.TemporaryDirectory()
        self._out = osp.join(self._tmp.name, 'stdout')
        self._err = osp.join(self._tmp.name, 'stderr')
        self.args = [str(a) for a in args]
        env = dict(os.environ if env is None else env)
        self._proc = context().Process(
            target=_main,
            args=(self.args, cwd or os.getcwd(), env, self._out, self._err),
        )
        self._proc.start()
        self.pid = self._proc.pid

    def poll(self):
        """The exit status, or None while it runs."""
        return self._proc.exitcode

    def kill(self):
        """Send SIGKILL and wait for the process."""
        self._proc.kill()
        self._proc.join()

    def wait(self, timeout=None):
        """Wait up to ``timeout`` s; kill it and raise
        ``subprocess.TimeoutExpired`` if it is still running then."""
        self._proc.join(timeout)
        if self._proc.exitcode is None:
            self.kill()
            raise subprocess.TimeoutExpired(self.args, timeout, *self.output())
        return self._proc.exitcode

    def output(self):
        """``(stdout, stderr)`` written so far, as text."""
        with open(self._out, errors='replace') as out:
            with open(self._err, errors='replace') as err:
                return out.read(), err.read()

    def close(self):
        """Remove the output files."""
        self._tmp.cleanup()


def run_script(args, cwd=None, env=None, timeout=600):
    """``subprocess.run([sys.executable, *args], capture_output=True,
    text=True)`` in a process forked from the server.

    Returns:
        subprocess.CompletedProcess: ``returncode``, ``stdout``, ``stderr``.
    """
    proc = ScriptProcess(args, cwd=cwd, env=env)
    try:
        code = proc.wait(timeout)
        out, err = proc.output()
    finally:
        proc.close()
    return subprocess.CompletedProcess(proc.args, code, out, err)


def start_processes(fn, args, nprocs, timeout):
    """Run ``fn(rank, *args)`` in ``nprocs`` forked processes and wait.

    A process that fails re-raises its exception here (as
    ``torch.multiprocessing.spawn`` does). Processes still running after
    ``timeout`` s (e.g. a rank stuck in a collective) are killed and
    ``TimeoutError`` is raised.
    """
    import torch.multiprocessing as mp

    context()
    procs = mp.start_processes(
        fn, args=args, nprocs=nprocs, join=False, start_method='forkserver'
    )
    deadline = time.monotonic() + timeout
    while not procs.join(timeout=1):
        if time.monotonic() > deadline:
            for proc in procs.processes:
                if proc.is_alive():
                    proc.kill()
                proc.join()
            raise TimeoutError(
                f'{nprocs} processes of {fn.__name__} did not finish '
                f'within {timeout} s; killed'
            )
