"""Fault injection: kill training with SIGKILL, resume, compare.

Runs ``tools/train.py CONFIG`` once uninterrupted (the reference), then
``--runs`` times: start the same training in a fresh work dir, kill it with
``kill -9`` at a random moment, continue it with ``tools/train.py --resume``
and compare the final epoch's weights (bit for bit) and test mAP with the
reference. Two kinds of kill, drawn per run:

- ``time``: at a uniformly random time in the reference run's training
  (from the start of training, the ``Checkpoints will be saved to`` log
  line, to the end of the process), so the kill falls in data loading,
  forward, backward, validation or saving in proportion to the time each
  takes;
- ``save`` (fraction ``--save-kills``): in the middle of a random
  checkpoint write (the temporary file truncated to half, then the kill),
  the one moment a time-based kill rarely hits on small data.

Example (the numbers in docs/benchmarks.md, "Fault injection")::

    python tools/benchmark/bench_fault_injection.py \\
        configs/nonlinear_synthetic.py --preset tiny --runs 20
    python tools/benchmark/bench_fault_injection.py \\
        configs/meid_synthetic.py --preset tiny --runs 20 \\
        --cfg-options model.cls_head.dropout=0.5

The data (``tools/data/generate_synthetic.py --preset PRESET``) is made in
``WORK_ROOT/data_<preset>`` if missing; its sizes and group thresholds are
passed as data keys. Prints a table per run and "k of N identical"; writes
``WORK_ROOT/<config>_<preset>/summary.json``.
"""

import argparse
import json
import os
import os.path as osp
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

# Runs tools/train.py in this process after patching os.fsync: counts the
# checkpoint writes (FI_COUNT) and, at the FI_HANG_AT-th, truncates the
# temporary file to half, touches FI_MARKER and waits to be killed.
WRAPPER = textwrap.dedent(
    """
    import os, runpy, sys, time
    count_file = os.environ.get('FI_COUNT')
    hang_at = int(os.environ.get('FI_HANG_AT', '0'))
    real_fsync = os.fsync
    writes = [0]

    def fsync(fd):
        try:
            name = os.readlink(f'/proc/self/fd/{fd}')
        except OSError:
            name = ''
        base = os.path.basename(name)
        if base.startswith('.') and '.pth.tmp-' in base:
            writes[0] += 1
            if count_file:
                with open(count_file, 'w') as f:
                    f.write(str(writes[0]))
            if writes[0] == hang_at:
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                open(os.environ['FI_MARKER'], 'w').close()
                time.sleep(3600)
        real_fsync(fd)

    os.fsync = fsync
    sys.argv = ['tools/train.py'] + sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    runpy.run_path('tools/train.py', run_name='__main__')
    """
)


def data_options(root):
    """Data keys for a synthetic dataset at ``root`` (from meta.json)."""
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    head_thr, tail_thr = meta['group_thresholds']
    return [
        f'data_root={root}',
        f'num_classes={meta["num_classes"]}',
        f'feat_dim={meta["feat_dim"]}',
        f'head_thr={head_thr}',
        f'tail_thr={tail_thr}',
        f'model.cls_head.num_classes={meta["num_classes"]}',
        f'model.cls_head.in_channels={meta["feat_dim"]}',
    ]


def train_cmd(config, work_dir, options, resume=False):
    """The ``tools/train.py`` arguments (after the wrapper)."""
    args = [config, '--work-dir', work_dir]
    if resume:
        args.append('--resume')
    return [sys.executable, '-c', WRAPPER, *args, '--cfg-options', *options]


#: logged by CheckpointHook.before_train: training starts now
TRAIN_START = 'Checkpoints will be saved to'


def _started(log, offset):
    with open(log, errors='replace') as f:
        f.seek(offset)
        return TRAIN_START in f.read()


def run_to_end(cmd, env, log):
    """Run ``cmd``; return the seconds from the start of training (the
    ``TRAIN_START`` log line) to the end."""
    offset = osp.getsize(log) if osp.exists(log) else 0
    with open(log, 'a') as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        began = None
        while proc.poll() is None:
            if began is None and _started(log, offset):
                began = time.monotonic()
            time.sleep(0.01)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd[3:6])} failed, see {log}')
    return time.monotonic() - (began or time.monotonic())


def run_and_kill(cmd, env, log, delay=None, marker=None):
    """Start ``cmd``; SIGKILL it ``delay`` s after training started or
    when ``marker`` appears. Returns whether it was killed (False: it
    ended first)."""
    offset = osp.getsize(log) if osp.exists(log) else 0
    with open(log, 'a') as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        began = None
        while proc.poll() is None:
            now = time.monotonic()
            if began is None and _started(log, offset):
                began = now
            if (
                delay is not None
                and began is not None
                and now - began >= delay
            ) or (marker is not None and osp.exists(marker)):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.01)
    return False


def final_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def compare(ref_path, path):
    """Max abs difference over all weights (0.0: bit-identical) and
    whether every tensor is ``torch.equal``."""
    import torch

    from meid_mmaction.utils.checkpoint import load_checkpoint_file

    a = load_checkpoint_file(ref_path, map_location='cpu')['state_dict']
    b = load_checkpoint_file(path, map_location='cpu')['state_dict']
    if set(a) != set(b):
        return float('inf'), False
    same, diff = True, 0.0
    for name in a:
        same &= torch.equal(a[name], b[name])
        if a[name].is_floating_point():
            d = (a[name].double() - b[name].double()).abs().max().item()
            diff = max(diff, d)
    return diff, bool(same)


class Tester:
    """Test-split metrics of checkpoints, in this process."""

    def __init__(self, config, options, work_dir):
        from mmengine.config import Config, DictAction
        from mmengine.runner import Runner

        import meid_mmaction  # noqa: F401
        from meid_mmaction.utils.data_keys import apply_data_keys

        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(parser.parse_args(['--o', *options]).o)
        apply_data_keys(cfg)
        cfg.work_dir = work_dir
        cfg.log_level = 'WARNING'
        cfg.test_evaluator.save_per_class_ap = False
        self.runner = Runner.from_cfg(cfg)

    def __call__(self, path):
        self.runner.load_checkpoint(path)
        metrics = self.runner.test()
        return float(metrics['lt/mAP'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--preset', default='tiny')
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--save-kills',
        type=float,
        default=0.25,
        help='fraction of runs killed during a checkpoint write',
    )
    parser.add_argument('--work-root', default='work_dirs/fault_injection')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args(argv)
    if args.runs < 1:
        raise ValueError(f'--runs={args.runs}: expected >= 1')
    if not 0 <= args.save_kills <= 1:
        raise ValueError(f'--save-kills={args.save_kills}: expected [0, 1]')

    work_root = osp.abspath(args.work_root)
    data = osp.join(work_root, f'data_{args.preset}')
    env = dict(os.environ, PYTHONPATH=REPO)
    if not osp.isfile(osp.join(data, 'meta.json')):
        subprocess.run(
            [
                sys.executable,
                'tools/data/generate_synthetic.py',
                '--preset',
                args.preset,
                data,
            ],
            cwd=REPO,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    name = osp.splitext(osp.basename(args.config))[0]
    out = osp.join(work_root, f'{name}_{args.preset}')
    if osp.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    # keep every checkpoint: the comparison reads the last one
    options = [*data_options(data), *args.cfg_options]
    config = osp.abspath(args.config)

    ref = osp.join(out, 'reference')
    count_file = osp.join(out, 'writes.txt')
    ref_time = run_to_end(
        train_cmd(config, ref, options),
        dict(env, FI_COUNT=count_file),
        osp.join(out, 'reference.log'),
    )
    with open(count_file) as f:
        n_writes = int(f.read())
    tester = Tester(config, options, osp.join(out, 'test'))
    ref_ckpt = final_checkpoint(ref)
    ref_map = tester(ref_ckpt)
    print(
        f'reference: {ref_time:.1f} s of training, {n_writes} checkpoint '
        'writes, '
        f'{osp.basename(ref_ckpt)}, test lt/mAP {ref_map:.6f}'
    )

    rng = random.Random(args.seed)
    rows = []
    for i in range(args.runs):
        work = osp.join(out, f'run{i:02d}')
        log = osp.join(out, f'run{i:02d}.log')
        if rng.random() < args.save_kills:
            hang_at = rng.randint(1, n_writes)
            marker = osp.join(out, f'run{i:02d}.hanging')
            kind = f'save #{hang_at}'
            killed = run_and_kill(
                train_cmd(config, work, options),
                dict(env, FI_HANG_AT=str(hang_at), FI_MARKER=marker),
                log,
                marker=marker,
            )
        else:
            delay = rng.uniform(0.0, 1.0) * ref_time
            kind = f'time {delay:.1f} s'
            killed = run_and_kill(
                train_cmd(config, work, options), env, log, delay=delay
            )
        left = sorted(n for n in os.listdir(work) if n.endswith('.pth'))
        with open(log, errors='replace') as f:
            lines = [ln for ln in f if ' - mmengine - ' in ln]
        last_line = (
            lines[-1].split(' - mmengine - ')[1].strip() if lines else ''
        )
        run_to_end(train_cmd(config, work, options, resume=True), env, log)
        with open(log) as f:
            text = f.read()
        resumed = 'scratch'
        if 'resumed epoch:' in text:
            resumed = 'epoch ' + text.split('resumed epoch:')[1].split(',')[0]
        ckpt = final_checkpoint(work)
        diff, same = compare(ref_ckpt, ckpt)
        test_map = tester(ckpt)
        row = dict(
            run=i,
            kill=kind,
            killed=killed,
            checkpoints_at_kill=left,
            last_log_line_before_kill=last_line[:120],
            resumed_from=resumed.strip(),
            max_abs_diff=diff,
            identical_weights=same,
            test_map=test_map,
            identical=same and test_map == ref_map,
        )
        rows.append(row)
        print(
            f'run {i:2d}: kill {kind:>14} ({"killed" if killed else "ended"}'
            f' first), resumed from {row["resumed_from"]:>9}: weights '
            f'{"identical" if same else f"differ (max {diff:.3g})"}, test '
            f'lt/mAP {test_map:.6f}',
            flush=True,
        )
        shutil.rmtree(work)
    ok = sum(r['identical'] for r in rows)
    print(
        f'{ok} of {len(rows)} identical (weights bit for bit and test '
        f'lt/mAP {ref_map:.6f}) for {name} on the {args.preset!r} data'
    )
    with open(osp.join(out, 'summary.json'), 'w') as f:
        json.dump(
            dict(
                config=args.config,
                preset=args.preset,
                cfg_options=args.cfg_options,
                reference_seconds=ref_time,
                reference_map=ref_map,
                checkpoint_writes=n_writes,
                identical=ok,
                runs=rows,
            ),
            f,
            indent=1,
        )


if __name__ == '__main__':
    main()
