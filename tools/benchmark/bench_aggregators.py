"""Frame aggregators: synthetic accuracy.

(The training-step cost of the shipped aggregator configs is
``bench_step.py`` / ``bench_step_rows.py``'s.)

``accuracy``: on the synthetic data (``tools/data/generate_synthetic.py``),
the nonlinear baseline, each aggregator baseline, MEID and MEID + NetVLAD,
each with its own learning rate chosen on the validation split (first
seed), then mean +- std over seeds on the test split (after the last
epoch; nothing is selected on test). Every arm is an mmengine Runner built
from ``configs/nonlinear_synthetic.py`` / ``configs/meid_synthetic.py``
with the arm's head (``bench_meid_ablation.make_arm``), run by the study
harness (``study.py``; features held in memory by the dataset's
``feature_bank``; Adam, step schedule, clipping, class-balanced stage 2 as
configured); one JSON line per run in ``<work_dir>/results.jsonl``.
Every arm gets the same number of epochs: two-stage arms ``E`` + ``E``,
single-stage arms ``2 E``; MEID's stage 2 uses a tenth of the arm's
learning rate.

Usage (the runs in docs/benchmarks.md)::

    python tools/benchmark/bench_aggregators.py accuracy \
        work_dirs/agg_bench --generate --epochs 10 --seeds 0 1 2 \
        --lrs 3e-3 1e-2 3e-2
"""

import argparse
import json
import os.path as osp
import statistics
import subprocess
import sys
from typing import List, Optional

import bench_meid_ablation as abl
import torch
from study import Arm, run_study

# ----------------------------------------------------------------------
# arms
# VideoLT's released NetVLAD (docs/method.md) and the NeXtVLAD of the
# Charades runs; the synthetic arms shrink K / hidden (``small=True``).
NETVLAD = dict(
    type='NetVLAD',
    num_clusters=64,
    hidden_channels=1024,
    subtract_centers=False,
    gate=True,
    input_norm=True,
    assign_norm=True,
    assign_bias=False,
)
NEXTVLAD = dict(
    type='NeXtVLAD',
    num_clusters=64,
    expansion=2,
    groups=8,
    hidden_channels=1024,
)
ATTENTION = dict(
    type='AttentionPooling', num_heads=4, key_channels=512, value_channels=512
)
SMALL = dict(
    NetVLAD=dict(num_clusters=8, hidden_channels=64),
    NeXtVLAD=dict(num_clusters=8, groups=4, hidden_channels=64),
    AttentionPooling=dict(key_channels=32, value_channels=32),
)
AGGREGATORS = dict(
    mean=None, netvlad=NETVLAD, nextvlad=NEXTVLAD, attention=ATTENTION
)


def aggregator(name: str, small: bool = False) -> Optional[dict]:
    """Aggregator config of an arm name (None for the weighted mean)."""
    cfg = AGGREGATORS[name]
    if cfg is None:
        return None
    cfg = dict(cfg)
    if small:
        cfg.update(SMALL[cfg['type']])
    return cfg


def head_cfg(arm: str, small: bool = False) -> dict:
    """Head config of an arm: ``nonlinear``, ``<agg>``, ``netvlad+attention``
    (MOVE's aggregator baseline), ``meid`` or ``meid+<agg>``."""
    if arm == 'nonlinear':
        return dict(type='NonlinearClsHead', dropout_ratio=0.5)
    if arm.startswith('meid'):
        agg = aggregator(arm.split('+')[1], small) if '+' in arm else None
        return dict(type='MEIDHead', aggregator=agg)
    if arm == 'netvlad+attention':
        return dict(
            type='AggregatorClsHead',
            aggregators=[
                aggregator('netvlad', small),
                aggregator('attention', small),
            ],
            mlp_channels=None if small else 2048,
        )
    agg = aggregator(arm, small) or dict(type='MeanPooling')
    return dict(type='AggregatorClsHead', aggregators=[agg])


def count_params(module: torch.nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


ACC_ARMS = (
    'nonlinear',
    'netvlad',
    'nextvlad',
    'attention',
    'netvlad+attention',
    'meid',
    'meid+netvlad',
)


def make_arm(args: argparse.Namespace, meta: dict, arm: str) -> Arm:
    """One arm for the common budget (``bench_meid_ablation.make_arm``):
    ``configs/meid_synthetic.py`` with the arm's ``MEIDHead`` options (stage
    2 at ``--stage2-lr-factor`` x the lr), or
    ``configs/nonlinear_synthetic.py`` with the arm's head, ``2 E``
    epochs.

    Diagnostic options (issue 16): ``--netvlad-cfg`` is merged into every
    NetVLAD of the arm, ``--replace-netvlad`` replaces it (e.g. by
    ``MeanPooling``), ``--head-cfg`` is merged into the ``MEIDHead``
    options and ``--stage1-only`` trains the MEID arms' stage 1 only
    (expert 1 alone)."""
    cfg_head = head_cfg(arm, small=True)
    for key in ('aggregator', 'aggregators'):
        aggs = cfg_head.get(key)
        for i, agg in enumerate(aggs if isinstance(aggs, list) else [aggs]):
            if not agg or agg['type'] != 'NetVLAD':
                continue
            agg['hidden_channels'] = args.netvlad_hidden
            agg.update(json.loads(args.netvlad_cfg))
            if args.replace_netvlad:
                new = json.loads(args.replace_netvlad)
                if isinstance(aggs, list):
                    aggs[i] = new
                else:
                    cfg_head[key] = new
    e = args.epochs
    if cfg_head['type'] == 'MEIDHead':
        head = {k: v for k, v in cfg_head.items() if k != 'type'}
        head.update(json.loads(args.head_cfg))
        stages = (1,) if args.stage1_only else (1, 2)
        spec = abl.make_arm(
            args, args.data_root, meta, arm, 'meid', e, head, stages=stages
        )
        # stage 2 at a tenth of stage 1's lr, as configs/meid_synthetic.py
        spec.lr_factors = {'train_cfg.stage2.lr': args.stage2_lr_factor}
        return spec
    spec = abl.make_arm(args, args.data_root, meta, arm, 'nonlinear', 2 * e)
    if cfg_head['type'] != 'NonlinearClsHead':
        for key in ('num_classes', 'in_channels'):
            spec.overrides.pop(f'model.cls_head.{key}')
        spec.overrides['model.cls_head'] = dict(
            cfg_head,
            _delete_=True,
            num_classes=int(meta['num_classes']),
            in_channels=int(meta['feat_dim']),
        )
    return spec


def accuracy(args: argparse.Namespace) -> dict:
    """Learning rate per arm on validation (first seed), then all seeds
    (``study.run_study``); one JSON line per run in
    ``<work_dir>/results.jsonl``."""
    import logging

    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import meid_mmaction  # noqa: F401

    torch.set_num_threads(args.threads)
    init_default_scope('mmaction')
    logging.getLogger().setLevel(logging.WARNING)
    MMLogger.get_instance('mmengine').setLevel(logging.WARNING)
    if args.generate:
        args.data_root = osp.join(args.work_dir, 'data')
        if not osp.isfile(osp.join(args.data_root, 'meta.json')):
            subprocess.run(
                [
                    sys.executable,
                    'tools/data/generate_synthetic.py',
                    args.data_root,
                    '--preset',
                    args.preset,
                    '--seed',
                    str(args.data_seed),
                ],
                check=True,
            )
    with open(osp.join(args.data_root, 'meta.json'), encoding='utf-8') as f:
        meta = json.load(f)
    arms = [make_arm(args, meta, arm) for arm in args.arms or ACC_ARMS]
    chosen = run_study(
        arms,
        args.seeds,
        args.lrs,
        osp.join(args.work_dir, 'runs'),
        osp.join(args.work_dir, 'results.jsonl'),
        log=lambda s: print(s, file=sys.stderr, flush=True),
        inspect=lambda runner: dict(
            params=count_params(runner.model.cls_head)
        ),
    )
    results = {
        name: dict(
            lr=runs[0]['lr'],
            runs=[dict(r, params=r['extra']['params']) for r in runs],
        )
        for name, runs in chosen.items()
    }
    print_accuracy(results, args)
    return results


def _ms(values: List[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):.3f} ± {sd:.3f}'


def print_accuracy(results: dict, args: argparse.Namespace) -> None:
    """Markdown table (mean +- std over seeds) of ``results``."""
    print(
        f'{len(args.seeds)} seeds, {args.epochs} (+{args.epochs}) epochs, '
        f'lr chosen on validation among {args.lrs}'
    )
    print(
        '| arm | lr | params | val overall | test overall | head | '
        'medium | tail | s/run |'
    )
    print('|---|---|---|---|---|---|---|---|---|')
    for arm, res in results.items():
        runs = res['runs']
        cols = [
            _ms([r['test'][g] for r in runs])
            for g in ('overall', 'head', 'medium', 'tail')
        ]
        val = _ms([r['val']['overall'] for r in runs])
        sec = statistics.mean(r['seconds'] for r in runs)
        print(
            f'| {arm} | {res["lr"]:g} | {runs[0]["params"]:,} | {val} | '
            + ' | '.join(cols)
            + f' | {sec:.0f} |'
        )


# ----------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    """Command line: ``accuracy`` (the only mode; the step cost of the
    shipped configs is ``bench_step.py``'s)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='mode', required=True)
    p = sub.add_parser('accuracy')
    p.add_argument('work_dir')
    p.add_argument('--data-root', default='data/synthetic_lt')
    p.add_argument(
        '--generate',
        action='store_true',
        help='generate <work_dir>/data with --preset first',
    )
    p.add_argument('--preset', default='demo')
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--arms', nargs='+', default=None, choices=ACC_ARMS)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--lrs', type=float, nargs='+', default=[3e-3, 1e-2, 3e-2])
    p.add_argument(
        '--stage2-lr-factor',
        type=float,
        default=0.1,
        help='MEID stage-2 lr = factor x the arm lr',
    )
    p.add_argument(
        '--milestones',
        type=float,
        nargs='+',
        default=[0.6, 0.8],
        help='lr x0.1 at these fractions',
    )
    p.add_argument(
        '--netvlad-hidden',
        type=int,
        default=SMALL['NetVLAD']['hidden_channels'],
        help='output width of the small NetVLAD of the arms',
    )
    p.add_argument(
        '--netvlad-cfg',
        default='{}',
        help='JSON dict merged into the NetVLAD config of the arms, e.g. '
        '\'{"mean_branch": true}\' (issue 16 variants)',
    )
    p.add_argument(
        '--replace-netvlad',
        default=None,
        help='JSON aggregator config used instead of the NetVLAD of the '
        'arms, e.g. \'{"type": "MeanPooling"}\' (issue 16 control)',
    )
    p.add_argument(
        '--head-cfg',
        default='{}',
        help='JSON dict merged into the MEIDHead options of the MEID arms, '
        'e.g. \'{"aggregator_input": "frames"}\'',
    )
    p.add_argument(
        '--stage1-only',
        action='store_true',
        help='MEID arms train stage 1 only (expert 1 alone)',
    )
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--clip-len', type=int, default=24)
    p.add_argument('--test-clip-len', type=int, default=48)
    p.add_argument('--threads', type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Entry point."""
    args = parse_args(argv)
    accuracy(args)


if __name__ == '__main__':
    main()
