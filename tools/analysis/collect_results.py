"""Collect the test results of many work dirs into one table.

``python tools/test.py CONFIG CKPT --work-dir DIR`` leaves the metrics of the
test run in ``DIR/<timestamp>/<timestamp>.json`` (mmengine's LoggerHook).
This script reads the newest such file of every work dir given, and prints
(or writes) one table, overall / head / medium / tail mAP, as Markdown or
LaTeX. Work dirs whose names differ only by a seed suffix (``_seed0``,
``-seed1``, ...) become one row with mean ± std (sample std over seeds).

With ``--study RESULTS.jsonl`` it reads instead the JSON lines of a study
(``tools/benchmark/study.py``: one line per run with ``arm``, ``seed``,
``lr``, ``val`` / ``test`` mAP overall / head / medium / tail and
``seconds``) and prints one row per arm: the lr chosen on validation (best
validation mAP of the arm's first-seed runs), that run's validation mAP,
and mean ± std over the seeds run at that lr of the test mAP and wall
seconds.

Examples::

    python tools/analysis/collect_results.py work_dirs/baselines/*
    python tools/analysis/collect_results.py work_dirs/*_videolt_r50* \\
        --format latex --out table.tex
    python tools/analysis/collect_results.py \\
        --study work_dirs/bench_baselines.jsonl
"""

import argparse
import glob
import json
import os.path as osp
import re
import statistics
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

COLUMNS = (
    ('overall', 'mAP'),
    ('head', 'mAP_head'),
    ('medium', 'mAP_medium'),
    ('tail', 'mAP_tail'),
)
SEED_PATTERN = r'[_-]seed\d+$'


def find_test_json(work_dir: str) -> Optional[str]:
    """The newest ``<ts>/<ts>.json`` of a work dir holding test metrics."""
    found = []
    for path in glob.glob(osp.join(work_dir, '*', '*.json')):
        stamp = osp.basename(osp.dirname(path))
        if osp.basename(path) == f'{stamp}.json':
            found.append((stamp, path))
    for _, path in sorted(found, reverse=True):
        with open(path) as f:
            text = f.read().strip()
        try:
            metrics = json.loads(text)
        except json.JSONDecodeError:
            continue  # a JSON-lines training log, not a test result
        if isinstance(metrics, dict) and any(
            k.endswith('mAP') for k in metrics
        ):
            return path
    return None


def read_metrics(path: str, prefix: str = 'lt') -> Dict[str, float]:
    """``{'overall': ..., 'head': ..., 'medium': ..., 'tail': ...}``.

    Raises:
        ValueError: naming the file and the missing key.
    """
    with open(path) as f:
        try:
            raw = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(
                f'{path}: not a JSON object of test metrics ({e})'
            ) from e
    out = {}
    for column, key in COLUMNS:
        name = f'{prefix}/{key}' if prefix else key
        if name not in raw:
            raise ValueError(
                f'{path}: no {name!r} in the test metrics '
                f'(keys: {sorted(raw)})'
            )
        out[column] = float(raw[name])
    return out


def group_runs(
    work_dirs: Sequence[str],
    seed_pattern: str = SEED_PATTERN,
    prefix: str = 'lt',
) -> 'OrderedDict[str, List[dict]]':
    """Row name -> metrics of its runs (one per seed).

    A path may also be a test-metrics JSON file itself.
    """
    rows: 'OrderedDict[str, List[dict]]' = OrderedDict()
    for work_dir in work_dirs:
        if osp.isfile(work_dir):
            path, name = work_dir, osp.splitext(osp.basename(work_dir))[0]
        else:
            path = find_test_json(work_dir)
            name = osp.basename(osp.normpath(work_dir))
            if path is None:
                raise ValueError(
                    f'{work_dir}: no test result (<timestamp>/<timestamp>.'
                    'json with mAP keys); run tools/test.py with --work-dir '
                    f'{work_dir} first'
                )
        name = re.sub(seed_pattern, '', name) if seed_pattern else name
        rows.setdefault(name, []).append(read_metrics(path, prefix))
    return rows


def summarise(runs: List[dict]) -> Dict[str, Tuple[float, Optional[float]]]:
    """Column -> (mean, std or None for a single run)."""
    out = {}
    for column, _ in COLUMNS:
        values = [r[column] for r in runs]
        std = statistics.stdev(values) if len(values) > 1 else None
        out[column] = (statistics.fmean(values), std)
    return out


def _cell(mean: float, std: Optional[float], pm: str, digits: int) -> str:
    if std is None:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} {pm} {std:.{digits}f}'


def format_table(
    rows: 'OrderedDict[str, List[dict]]',
    fmt: str = 'markdown',
    digits: int = 3,
) -> str:
    """The table as Markdown or LaTeX (``booktabs``)."""
    if fmt not in ('markdown', 'latex'):
        raise ValueError(f"format={fmt!r} is not one of ('markdown', 'latex')")
    header = ['method', 'runs'] + [c for c, _ in COLUMNS]
    body = []
    for name, runs in rows.items():
        stats = summarise(runs)
        pm = '±' if fmt == 'markdown' else '$\\pm$'
        cells = [_cell(*stats[c], pm, digits) for c, _ in COLUMNS]
        body.append([name, str(len(runs))] + cells)
    if fmt == 'markdown':
        lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
        lines += ['| ' + ' | '.join(r) + ' |' for r in body]
        return '\n'.join(lines) + '\n'
    esc = [[c.replace('_', '\\_') for c in r] for r in body]
    lines = [
        '\\begin{tabular}{l' + 'r' * (len(header) - 1) + '}',
        '\\toprule',
        ' & '.join(header) + ' \\\\',
        '\\midrule',
    ]
    lines += [' & '.join(r) + ' \\\\' for r in esc]
    lines += ['\\bottomrule', '\\end{tabular}']
    return '\n'.join(lines) + '\n'


def read_study(path: str) -> List[dict]:
    """The records of a study's JSON-lines file.

    Raises:
        ValueError: naming the file, the line and the missing key.
    """
    if not osp.isfile(path):
        raise ValueError(f'{path}: no such study results file')
    recs = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{n}: not JSON ({e})') from e
            for key in ('arm', 'seed', 'lr', 'val', 'test', 'seconds'):
                if key not in rec:
                    raise ValueError(
                        f'{path}:{n}: no {key!r} in the record '
                        f'(keys: {sorted(rec)})'
                    )
            recs.append(rec)
    return recs


def study_rows(recs: Sequence[dict]) -> 'OrderedDict[str, dict]':
    """Arm -> ``dict(lr, val, runs)``: the lr with the best validation mAP
    among the runs of the arm's first seed (the first of equals in file
    order), and the runs of every seed at that lr."""
    arms: 'OrderedDict[str, List[dict]]' = OrderedDict()
    for rec in recs:
        arms.setdefault(rec['arm'], []).append(rec)
    rows: 'OrderedDict[str, dict]' = OrderedDict()
    for arm, runs in arms.items():
        first = runs[0]['seed']
        tuning = [r for r in runs if r['seed'] == first]
        best = max(tuning, key=lambda r: r['val']['overall'])
        at_lr = {}
        for r in runs:
            if r['lr'] == best['lr']:
                at_lr.setdefault(r['seed'], r)  # first record of a seed
        rows[arm] = dict(
            lr=best['lr'],
            val=best['val']['overall'],
            tried=sorted({r['lr'] for r in tuning if r['lr'] is not None}),
            runs=list(at_lr.values()),
        )
    return rows


def format_study(
    rows: 'OrderedDict[str, dict]', digits: int = 3, seconds: bool = True
) -> str:
    """The study table as Markdown: arm, lr (val), val mAP, seeds, test
    overall / head / medium / tail (mean ± std), wall s / run."""
    header = ['arm', 'lr (val)', 'val mAP', 'seeds', 'test overall']
    header += [c for c, _ in COLUMNS[1:]]
    if seconds:
        header.append('wall s / run')
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for arm, row in rows.items():
        runs = row['runs']
        lr = 'config' if row['lr'] is None else f'{row["lr"]:g}'
        cells = [arm, lr, f'{row["val"]:.{digits}f}', str(len(runs))]
        for column, _ in COLUMNS:
            vals = [r['test'][column] for r in runs]
            std = statistics.stdev(vals) if len(vals) > 1 else None
            cells.append(_cell(statistics.fmean(vals), std, '±', digits))
        if seconds:
            secs = [r['seconds'] for r in runs]
            std = statistics.stdev(secs) if len(secs) > 1 else None
            cells.append(_cell(statistics.fmean(secs), std, '±', 0))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description='Collect test mAP (overall / head / medium / tail) of '
        'many work dirs into one Markdown or LaTeX table'
    )
    parser.add_argument(
        'work_dirs',
        nargs='*',
        help='work dirs of tools/test.py runs (or test metric JSON files)',
    )
    parser.add_argument(
        '--study',
        help='a study results file (JSON lines of tools/benchmark/'
        'study.py) instead of work dirs; Markdown only',
    )
    parser.add_argument(
        '--no-seconds',
        action='store_true',
        help='--study: leave out the wall-time column',
    )
    parser.add_argument(
        '--format', choices=('markdown', 'latex'), default='markdown'
    )
    parser.add_argument(
        '--out', help='write the table here (default: print it)'
    )
    parser.add_argument(
        '--prefix',
        default='lt',
        help="metric prefix of LongTailMAP (default 'lt')",
    )
    parser.add_argument(
        '--seed-pattern',
        default=SEED_PATTERN,
        help='regex removed from work-dir names to merge '
        "seeds ('' keeps every run a row)",
    )
    parser.add_argument('--digits', type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Print (or write) the table."""
    args = parse_args(argv)
    if args.study:
        if args.work_dirs or args.format != 'markdown':
            raise ValueError(
                '--study takes no work dirs and only --format markdown, '
                f'got work dirs {args.work_dirs}, format {args.format!r}'
            )
        rows = study_rows(read_study(args.study))
        table = format_study(rows, args.digits, not args.no_seconds)
    elif not args.work_dirs:
        raise ValueError('give work dirs, or --study RESULTS.jsonl')
    else:
        rows = group_runs(args.work_dirs, args.seed_pattern, args.prefix)
        table = format_table(rows, args.format, args.digits)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table)
    else:
        sys.stdout.write(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
