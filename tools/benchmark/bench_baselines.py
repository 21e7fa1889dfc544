"""Long-tail baselines on synthetic data, through the shipped configs.

Every arm is a shipped VideoLT baseline config,
``configs/baselines/<method>_nonlinear_videolt_r101.py`` (VideoLT's
nonlinear classifier with the method's loss / sampler / batch
augmentation), run by the study harness (``study.py``: ``tools/train.py``'s
config reading, ``build_runner``, ``runner.train()`` / ``runner.test()``)
with overrides that change only the data and the schedule length:

* data: the data keys of ``configs/_base_/datasets/synthetic_lt.py`` (and
  its loader batch sizes), ``data_root`` and the class-group thresholds of
  the generated data's ``meta.json``, the head's ``num_classes`` /
  ``in_channels``; every split held in memory (``feature_bank``, float32);
* schedule: ``--epochs`` epochs instead of the config's; every epoch
  number of the config (the lr milestones, LDAM's ``drw_epoch``) scaled by
  ``epochs / max_epochs`` (30 / 60 of 100 -> 4 / 7 of 12); validation once,
  after the last epoch.

The method settings (loss type and arguments, sampler and label mask, loss
reduction, mixup / FrameStack arguments) are the shipped file's, unchanged;
so are Adam and the gradient clipping (20). The lr is chosen per arm on
the *validation* split (``--lrs``, first seed); the other seeds are run at
it; the test split is read once per run.

Usage (the run in ``docs/benchmarks.md``)::

    python tools/data/generate_synthetic.py data/synthetic_lt \\
        --preset demo --seed 0
    python tools/benchmark/bench_baselines.py data/synthetic_lt \\
        --epochs 12 --lrs 1e-2 3e-2 1e-1 3e-1 1 --seeds 0 1 2 \\
        --out work_dirs/bench_baselines.jsonl
    python tools/analysis/collect_results.py \\
        --study work_dirs/bench_baselines.jsonl
"""

import argparse
import json
import logging
import os.path as osp
import sys
from typing import Dict, List

from study import Arm, config_path, run_study

#: arm name -> shipped config (configs/baselines/)
METHODS = {
    'bce': 'bce',
    'focal': 'focal',
    'cb': 'cb_loss',
    'ldam_drw': 'ldam_drw',
    'eql': 'eql',
    'cbs': 'cbs',
    'srs': 'srs',
    'mixup': 'mixup',
    'framestack': 'framestack',
}
SYNTHETIC_DATA = '_base_/datasets/synthetic_lt.py'
DATA_KEYS_EXTRA = ('num_frames',)


def shipped_config(arm: str, backbone: str = 'r101') -> str:
    """``configs/baselines/<method>_nonlinear_videolt_<backbone>.py``."""
    if arm not in METHODS:
        raise ValueError(f'unknown arm {arm!r}; choose from {list(METHODS)}')
    return f'baselines/{METHODS[arm]}_nonlinear_videolt_{backbone}.py'


def load_meta(root: str) -> dict:
    """The generator's ``meta.json`` (classes, dims, thresholds)."""
    path = osp.join(root, 'meta.json')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found; generate the data first: python '
            f'tools/data/generate_synthetic.py {root}'
        )
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def scale_epoch(epoch: int, epochs: int, max_epochs: int) -> int:
    """An epoch number of a ``max_epochs`` schedule in one of ``epochs``
    (rounded, at least 1)."""
    return max(1, int(round(epoch * epochs / max_epochs)))


def synthetic_overrides(cfg, root: str, meta: dict, epochs: int) -> dict:
    """The overrides that move the shipped config ``cfg`` to the
    synthetic data in ``root`` and to ``epochs`` epochs."""
    from mmengine.config import Config

    from meid_mmaction.utils.data_keys import DATA_KEYS

    syn = Config.fromfile(config_path(SYNTHETIC_DATA))
    head_thr, tail_thr = meta['group_thresholds']
    out = {k: syn[k] for k in list(DATA_KEYS) + list(DATA_KEYS_EXTRA)}
    out.update(
        data_root=root,
        num_classes=int(meta['num_classes']),
        feat_dim=int(meta['feat_dim']),
        head_thr=int(head_thr),
        tail_thr=int(tail_thr),
    )
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        out[f'{loader}.batch_size'] = syn[loader]['batch_size']
    out['model.cls_head.num_classes'] = int(meta['num_classes'])
    out['model.cls_head.in_channels'] = int(meta['feat_dim'])
    # schedule: epochs, and every epoch number scaled
    max_epochs = int(cfg.train_cfg.max_epochs)
    out['train_cfg.max_epochs'] = epochs
    out['train_cfg.val_begin'] = epochs
    out['train_cfg.val_interval'] = epochs
    scheds = []
    for sched in cfg.param_scheduler:
        sched = dict(sched)
        if 'milestones' in sched:
            sched['milestones'] = [
                scale_epoch(m, epochs, max_epochs) for m in sched['milestones']
            ]
        scheds.append(sched)
    out['param_scheduler'] = scheds
    loss = cfg.model.cls_head.loss_cls
    if 'drw_epoch' in loss:
        out['model.cls_head.loss_cls.drw_epoch'] = scale_epoch(
            loss['drw_epoch'], epochs, max_epochs
        )
    return out


def make_arms(
    names: List[str], root: str, epochs: int, backbone: str = 'r101'
) -> List[Arm]:
    """One :class:`study.Arm` per baseline: the shipped config + the
    synthetic-data / schedule overrides."""
    from mmengine.config import Config

    meta = load_meta(root)
    arms = []
    for name in names:
        path = shipped_config(name, backbone)
        cfg = Config.fromfile(config_path(path))
        arms.append(
            Arm(name, path, synthetic_overrides(cfg, root, meta, epochs))
        )
    return arms


def parse_args(argv=None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='synthetic dataset directory')
    p.add_argument(
        '--arms', nargs='+', default=list(METHODS), choices=list(METHODS)
    )
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument(
        '--lrs',
        type=float,
        nargs='+',
        default=[1e-2, 3e-2, 1e-1, 3e-1, 1.0],
        help='lr grid, chosen on validation with the first seed',
    )
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument(
        '--backbone',
        default='r101',
        choices=('r101', 'r50'),
        help='which shipped VideoLT config of each method (the method '
        'settings are the same; the data is replaced)',
    )
    p.add_argument('--threads', type=int, default=1)
    p.add_argument(
        '--work-dir',
        default='work_dirs/bench_baselines',
        help='run directories (one per arm, lr and seed)',
    )
    p.add_argument(
        '--out',
        default='work_dirs/bench_baselines.jsonl',
        help='results, one JSON line per run (runs already there are reused)',
    )
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Run the study; one JSON line per run in ``--out``."""
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from mmengine.logging import MMLogger

    import meid_mmaction  # noqa: F401

    MMLogger.get_current_instance().setLevel(logging.WARNING)
    arms = make_arms(args.arms, args.data_root, args.epochs, args.backbone)
    chosen: Dict[str, list] = run_study(
        arms,
        args.seeds,
        args.lrs,
        args.work_dir,
        args.out,
        log=lambda s: print(s, flush=True),
    )
    for name, runs in chosen.items():
        print(f'{name}: lr {runs[0]["lr"]:g} ({len(runs)} seeds)')
    print(
        f'table: python tools/analysis/collect_results.py --study {args.out}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
