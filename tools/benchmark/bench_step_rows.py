"""Step profile of every paper-row config, and a projected GPU run time.

For each config of the recipe table (``tools/analysis/recipe_table.py``,
``SOURCES``: the configs that name a published row) this runs
``bench_step.py --split generic --shape-from-config --flops`` in a fresh
process (so each config's peak memory is its own) and collects, per training
stage: parameters (all / trainable), the process's peak RSS during the
stage's steps, seconds per step (the thread's CPU time, one torch
thread: what a step costs without the waiting of a loaded machine; the
wall time beside it) split into data (a float16 feature-bank
batch) / preprocess / forward + loss / backward / optimizer, and the FLOPs
of one step (forward + backward).

The GPU projection is a projection, not a measurement: a step on one H200
is modelled as ``t = a + b * FLOPs + c * trainable parameters`` (host
overhead, compute, the optimizer's memory traffic), fitted by least squares
to the five float32 steps measured on an H200 (docs/benchmarks.md, "GPU":
nonlinear head, attention-pooled MEID stages 1 / 2, MEID + NetVLAD stages
1 / 2; features on the device) with their FLOPs counted here; a run is
``ceil(V / B)`` steps per epoch times the config's epochs per stage, ``V``
the dataset's training videos. Validation and the data draw are not
included.

Usage::

    python tools/benchmark/bench_step_rows.py OUT_DIR [--repeats 1]
        [--configs CONFIG ...] [--threads 1]

writes ``OUT_DIR/<config name>.json`` (skipped when present: rerun-safe)
and prints the markdown table.
"""

import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

#: training videos per dataset (``data_root`` of the config): VideoLT's
#: train.lst, the released CharadesLT / CharadesEgoLT train lists.
TRAIN_VIDEOS = {
    'data/videolt': 179334,
    'data/charadeslt': 2213,
    'data/charadesegolt': 1553,
}

#: float32 ``train_step`` milliseconds on one H200, features on the device
#: (docs/benchmarks.md, "GPU", first run), with the config and options that
#: give the model, per stage.
H200_MS = (
    ('configs/baselines/bce_nonlinear_videolt_r101.py', (), 1, 14.7),
    (
        'configs/meid_videolt_r101.py',
        ('model.cls_head.aggregator=None',),
        1,
        16.1,
    ),
    (
        'configs/meid_videolt_r101.py',
        ('model.cls_head.aggregator=None',),
        2,
        20.7,
    ),
    ('configs/meid_videolt_r101.py', (), 1, 26.5),
    ('configs/meid_videolt_r101.py', (), 2, 30.5),
)


def paper_row_configs():
    """The configs of the recipe table, in its order."""
    sys.path.insert(0, os.path.join(ROOT, 'tools', 'analysis'))
    import recipe_table

    return list(recipe_table.SOURCES)


def run_one(config, options, out, args):
    """Profile ``config`` (with ``--cfg-options options``) in a fresh
    process into ``out`` (JSON); kept if it exists."""
    if os.path.exists(out):
        return
    cmd = [
        sys.executable,
        os.path.join(ROOT, 'tools', 'benchmark', 'bench_step.py'),
        '--config',
        config,
        '--split',
        'generic',
        '--shape-from-config',
        '--flops',
        '--repeats',
        str(args.repeats),
        '--warmup',
        str(args.warmup),
        '--threads',
        str(args.threads),
        '--json',
        out + '.part',
    ]
    if options:
        cmd += ['--cfg-options', *options]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    os.replace(out + '.part', out)


def load(out):
    """``{stage: result}`` of one bench_step JSON."""
    with open(out) as f:
        res = json.load(f)['results']
    return {
        int(k.split('stage')[1]): v
        for k, v in res.items()
        if k.startswith('none/stage')
    }


def fit_projection(out_dir, args):
    """Least-squares ``(a, b, c)`` of ``ms = a + b * GFLOPs + c * M
    trainable parameters`` over :data:`H200_MS`, and the residuals."""
    rows, ms = [], []
    for i, (config, options, stage, measured) in enumerate(H200_MS):
        out = os.path.join(out_dir, f'calibration{i}.json')
        row = os.path.join(out_dir, name_of(config) + '.json')
        if not options and os.path.exists(row):
            out = row  # the same config, already profiled as a row
        run_one(config, options, out, args)
        res = load(out)[stage]
        rows.append([1.0, res['flops'] / 1e9, res['trainable_params'] / 1e6])
        ms.append(measured)
    coef, *_ = np.linalg.lstsq(np.array(rows), np.array(ms), rcond=None)
    residuals = np.array(rows) @ coef - np.array(ms)
    return coef, residuals


def epochs_per_stage(cfg):
    """``{stage: epochs}`` of a config's training loop."""
    train_cfg = cfg.train_cfg
    if 'stage1' in train_cfg:
        return {
            1: train_cfg.stage1.max_epochs,
            2: train_cfg.stage2.max_epochs,
        }
    return {1: train_cfg.max_epochs}


def table(configs, out_dir, coef):
    """The markdown table of the profiled configs."""
    from mmengine.config import Config

    lines = [
        '| config | stage | B x N x D | params (trainable) | peak RSS GiB '
        '| s / step, CPU (wall) | data / preprocess / forward / backward / '
        'optimizer | GFLOPs / step | projected H200 ms / step | '
        'projected H200 h / run |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for config in configs:
        cfg = Config.fromfile(os.path.join(ROOT, config))
        res = load(os.path.join(out_dir, name_of(config) + '.json'))
        epochs = epochs_per_stage(cfg)
        videos = TRAIN_VIDEOS.get(cfg.get('data_root'))
        total_h = 0.0
        for stage, r in sorted(res.items()):
            t = r['thread_cpu_times']
            step = t['train_step (total)']
            wall = r['times']['train_step (total)']
            parts = ('data', 'preprocess', 'forward+loss', 'backward')
            whole = step + t.get('data', 0.0)
            shares = ' / '.join(
                f'{t.get(k, 0.0) / whole:.0%}' for k in (*parts, 'optimizer')
            )
            gpu_ms = coef @ [
                1.0,
                r['flops'] / 1e9,
                r['trainable_params'] / 1e6,
            ]
            steps = math.ceil(videos / r['shape']['batch']) * epochs[stage]
            hours = steps * gpu_ms / 1e3 / 3600
            total_h += hours
            shape = r['shape']
            lines.append(
                f'| `{config.removeprefix("configs/")}` | {stage} '
                f'({epochs[stage]} ep) | {shape["batch"]} x '
                f'{shape["frames"]} x {shape["dim"]} | '
                f'{r["params"] / 1e6:.1f} M ({r["trainable_params"] / 1e6:.1f}'
                f' M) | {r["peak_rss_bytes"] / 2**30:.2f} | {step:.2f} '
                f'({wall:.2f}) | '
                f'{shares} | {r["flops"] / 1e9:,.0f} | {gpu_ms:.1f} | '
                f'{hours:.2f}'
                + (f' (run {total_h:.2f})' if stage == max(res) > 1 else '')
                + ' |'
            )
    return '\n'.join(lines)


def name_of(config):
    """``configs/a/b.py`` -> ``a__b``."""
    return (
        config.removeprefix('configs/').removesuffix('.py').replace('/', '__')
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--configs', nargs='+', default=None)
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    configs = args.configs or paper_row_configs()
    for config in configs:
        run_one(
            config,
            (),
            os.path.join(args.out_dir, name_of(config) + '.json'),
            args,
        )
    coef, residuals = fit_projection(args.out_dir, args)
    print(
        f'projection: ms = {coef[0]:.2f} + {coef[1]:.4f} x GFLOPs + '
        f'{coef[2]:.4f} x M trainable parameters; residuals on the H200 '
        f'steps: {", ".join(f"{r:+.1f}" for r in residuals)} ms'
    )
    print(table(configs, args.out_dir, coef))
    return 0


if __name__ == '__main__':
    sys.exit(main())
