"""Frame aggregators: training-step cost and synthetic accuracy.

``speed``: forward + backward time and peak memory of one training step
(head only, on random features) at VideoLT's shape (``B = 128``, 60
frames, ``D = 2048``, ``C = 1004``) for each pooling, alone
(``AggregatorClsHead``) and inside MEID (stage 1 / stage 2). Every arm runs
in its own subprocess so that the peak resident memory (``ru_maxrss``, CPU)
is that arm's; on CUDA ``torch.cuda.max_memory_allocated`` is reported.

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

    python tools/benchmark/bench_aggregators.py speed --repeats 2
    python tools/benchmark/bench_aggregators.py accuracy \
        work_dirs/agg_bench --generate --epochs 10 --seeds 0 1 2 \
        --lrs 3e-3 1e-2 3e-2
"""

import argparse
import json
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time
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


# ----------------------------------------------------------------------
# speed
SPEED_ARMS = (
    'mean',
    'netvlad',
    'nextvlad',
    'attention',
    'netvlad+attention',
    'meid@1',
    'meid@2',
    'meid+netvlad@1',
    'meid+netvlad@2',
    'meid+nextvlad@1',
    'meid+nextvlad@2',
    'meid+attention@1',
    'meid+attention@2',
)


def speed_one(args: argparse.Namespace) -> dict:
    """Time one arm (``<arm>`` or ``<meid arm>@<stage>``) in this process."""
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample

    import meid_mmaction  # noqa: F401
    from meid_mmaction.utils.compat import set_gt_label

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    arm, _, stage = args.arm.partition('@')
    cfg = head_cfg(arm)
    cfg.update(num_classes=args.classes, in_channels=args.dim)
    head = MODELS.build(cfg).to(device)
    c = args.classes
    groups = dict(
        head=list(range(c // 20)),
        medium=list(range(c // 20, c // 2)),
        tail=list(range(c // 2, c)),
    )
    for name in ('distill1', 'distill2'):
        if getattr(head, name, None) is not None:
            getattr(head, name).set_class_groups(groups)
    if stage:
        head.set_train_stage(int(stage))
    head.train()
    x = torch.randn(args.batch, args.frames, args.dim, device=device)
    samples = []
    for i in range(args.batch):
        target = torch.zeros(c)
        target[i % c] = 1.0
        samples.append(set_gt_label(ActionDataSample(), target))
    trainable = [p for p in head.parameters() if p.requires_grad]

    def step() -> None:
        losses = head.loss(x, samples)
        sum(losses.values()).backward()
        for p in trainable:
            p.grad = None

    def sync() -> None:
        if device.type == 'cuda':
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    sync()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.repeats):
        tic = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - tic)
    out = dict(
        arm=args.arm,
        params=count_params(head),
        trainable=sum(p.numel() for p in trainable),
        seconds=times,
        device=args.device,
        threads=args.threads,
    )
    if device.type == 'cuda':
        out['peak_mb'] = torch.cuda.max_memory_allocated() / 2**20
    else:
        out['peak_mb'] = (
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
    return out


def speed(args: argparse.Namespace) -> List[dict]:
    """Run every arm in a subprocess; print a markdown table."""
    rows = []
    for arm in args.arms or SPEED_ARMS:
        cmd = [sys.executable, __file__, 'speed-one', '--arm', arm]
        for key in (
            'batch',
            'frames',
            'dim',
            'classes',
            'repeats',
            'warmup',
            'threads',
            'device',
        ):
            cmd += [f'--{key}', str(getattr(args, key))]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode:
            raise RuntimeError(f'arm {arm} failed:\n{res.stderr[-3000:]}')
        row = json.loads(res.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f'{arm}: {row}', file=sys.stderr, flush=True)
    print(
        f'B={args.batch}, N={args.frames}, D={args.dim}, C={args.classes}'
        f', device {args.device}, {args.threads} thread(s), '
        f'{args.warmup} warm-up + {args.repeats} timed steps'
    )
    print(
        '| arm | parameters (M) | trained (M) | fwd+bwd s/step '
        '(min / mean) | peak memory (MB) |'
    )
    print('|---|---|---|---|---|')
    for r in rows:
        s = r['seconds']
        print(
            f'| {r["arm"]} | {r["params"] / 1e6:.1f} | '
            f'{r["trainable"] / 1e6:.1f} | {min(s):.2f} / '
            f'{statistics.mean(s):.2f} | {r["peak_mb"]:.0f} |'
        )
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(rows, f, indent=1)
    return rows


# ----------------------------------------------------------------------
# accuracy
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
    """Command line: ``speed``, ``speed-one`` (one arm, internal) or
    ``accuracy``."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='mode', required=True)
    for name in ('speed', 'speed-one'):
        p = sub.add_parser(name)
        p.add_argument('--arm', default=None)
        p.add_argument('--arms', nargs='+', default=None, choices=SPEED_ARMS)
        p.add_argument('--batch', type=int, default=128)
        p.add_argument('--frames', type=int, default=60)
        p.add_argument('--dim', type=int, default=2048)
        p.add_argument('--classes', type=int, default=1004)
        p.add_argument('--repeats', type=int, default=2)
        p.add_argument('--warmup', type=int, default=1)
        p.add_argument('--threads', type=int, default=1)
        p.add_argument('--device', default='cpu')
        p.add_argument('--out', default=None, help='JSON of the rows')
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
    if args.mode == 'speed-one':
        print(json.dumps(speed_one(args)))
    elif args.mode == 'speed':
        speed(args)
    else:
        accuracy(args)


if __name__ == '__main__':
    main()
