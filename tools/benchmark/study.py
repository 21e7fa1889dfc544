"""Study harness: arms x seeds x lr grid through the shipped training path.

An *arm* is a shipped config file plus config overrides (dotted keys, as
``--cfg-options``). Every run goes the way of ``tools/train.py``: the
config is read by :func:`meid_mmaction.utils.cli.load_config`
(``Config.fromfile`` + ``merge_from_dict`` + the data keys), the seed is
set as ``--seed`` sets it (``randomness.seed``), and the runner is built by
:func:`meid_mmaction.utils.cli.build_runner` inside
:func:`meid_mmaction.utils.distributed.distributed_session` and trained with
``runner.train()``. The validation metrics are those of the validation the
train loop runs after its last epoch (``runner.val()`` if the loop ran
none); the test split is read once per run with ``runner.test()``, the call
``tools/test.py`` makes.

The harness adds only run-time overrides that do not change the model,
data or schedule (:data:`QUIET`: no checkpoints, no log lines, no
visualizer files) and, by default, ``feature_bank=dict(dtype='float32')``
with ``num_workers=0`` on the three loaders (:data:`BANK`): the whole
split in memory, the same frames and values as the files
(``MultiLabelFeatureDataset``).

Protocol (:func:`run_study`): for every arm, seed ``seeds[0]`` is trained
at every lr of the grid; the lr with the best validation mAP is chosen and
the other seeds are trained at it. One JSON line per run goes to the
results file (arm, config, seed, lr, val / test mAP overall / head /
medium / tail, wall seconds); runs already in the file are not rerun, so a
stopped study continues where it was. The table is made by
``python tools/analysis/collect_results.py --study RESULTS.jsonl``.

The bench scripts import this module as a sibling (``from study import
...``): Python puts a script's own directory on ``sys.path``.
"""

import argparse
import copy
import json
import os
import os.path as osp
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GROUPS = ('head', 'medium', 'tail')
LR_KEY = 'optim_wrapper.optimizer.lr'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

#: overrides that keep a run quiet and small (nothing that changes the
#: model, the data or the schedule); ``serialize_data=False`` saves
#: mmengine's pickling of the data list and its ``gc.collect()`` per dataset
QUIET = {
    'default_hooks.checkpoint': None,
    'default_hooks.logger.interval': 10**6,
    'visualizer.vis_backends': [],
    'log_level': 'WARNING',
    **{f'{k}.dataset.serialize_data': False for k in LOADERS},
}

#: every split in memory (float32: the stored values), no worker processes
BANK = {
    **{
        f'{k}.dataset.feature_bank': dict(device='cpu', dtype='float32')
        for k in LOADERS
    },
    **{f'{k}.num_workers': 0 for k in LOADERS},
    **{f'{k}.persistent_workers': False for k in LOADERS},
}


def config_path(name: str) -> str:
    """``name`` if it is a file, else ``<repo>/configs/<name>``."""
    if osp.isfile(name):
        return name
    path = osp.join(ROOT, 'configs', name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config not found: {name} (neither a file nor under '
            f'{osp.join(ROOT, "configs")})'
        )
    return path


@dataclass
class Arm:
    """One arm of a study.

    Args:
        name (str): Row name.
        config (str): Shipped config (a path, or one relative to
            ``configs/``).
        overrides (dict): Dotted config keys -> values, merged as
            ``--cfg-options`` (``Config.merge_from_dict``).
        lr_keys (Sequence[str]): Keys the lr of the grid is written to.
        lr_factors (dict): Key of ``lr_keys`` -> factor: that key gets
            ``factor x lr`` (e.g. a second stage at a tenth of the lr).
    """

    name: str
    config: str
    overrides: dict = field(default_factory=dict)
    lr_keys: Sequence[str] = (LR_KEY,)
    lr_factors: Dict[str, float] = field(default_factory=dict)


def build_cfg(
    arm: Arm,
    seed: int,
    lr: Optional[float],
    work_dir: str,
    feature_bank: bool = True,
    extra: Optional[dict] = None,
):
    """The run's config, read as ``tools/train.py CONFIG --seed SEED
    --work-dir WORK_DIR --cfg-options ...`` reads it.

    Overrides, in order: :data:`QUIET`, :data:`BANK` (``feature_bank``),
    the arm's, ``extra``, then the lr (``arm.lr_keys``, times
    ``arm.lr_factors``) unless ``lr`` is None.
    """
    from meid_mmaction.utils.cli import load_config

    options = copy.deepcopy(QUIET)
    if feature_bank:
        options.update(BANK)
    # copies: merge_from_dict writes later dotted keys into earlier values
    options.update(copy.deepcopy(arm.overrides))
    options.update(copy.deepcopy(extra or {}))
    if lr is not None:
        options.update(
            {k: lr * arm.lr_factors.get(k, 1.0) for k in arm.lr_keys}
        )
    args = argparse.Namespace(
        config=config_path(arm.config),
        cfg_options=options,
        launcher='none',
        local_rank=0,
        work_dir=work_dir,
    )
    cfg = load_config(args)
    # mmengine names the runner's logger by the experiment name and the
    # second it starts: two runs of one process starting in the same
    # second would share one logger and log into the first's work_dir
    cfg.setdefault('experiment_name', uuid.uuid4().hex)
    # tools/train.py --seed
    randomness = cfg.get('randomness', {})
    randomness['seed'] = seed
    cfg.randomness = randomness
    return cfg


def group_map(metrics: dict) -> Dict[str, float]:
    """``LongTailMAP`` metrics -> ``{'overall', 'head', 'medium', 'tail'}``.

    Raises:
        KeyError: naming the missing metric and the keys present.
    """

    def pick(suffix):
        for k, v in metrics.items():
            if k.endswith(suffix) or k == suffix.lstrip('/'):
                return float(v)
        raise KeyError(f'{suffix} not in {sorted(metrics)}')

    out = dict(overall=pick('/mAP'))
    for g in GROUPS:
        out[g] = pick(f'/mAP_{g}')
    return out


def run_cfg(cfg, inspect: Optional[Callable] = None) -> dict:
    """Train, validate and test one config as the shipped tools do.

    Args:
        cfg (Config): From :func:`build_cfg`.
        inspect (callable, optional): ``inspect(runner)`` after the test;
            its return value is the record's ``extra``.

    Returns:
        dict: ``val`` / ``test`` (raw metric dicts), ``seconds`` (build,
        train, validation and test) and ``extra``.
    """
    from mmengine.hooks import Hook

    from meid_mmaction.utils.cli import build_runner
    from meid_mmaction.utils.distributed import distributed_session

    class LastVal(Hook):
        """Keeps the metrics of the latest validation."""

        metrics = None

        def after_val_epoch(self, runner, metrics=None):
            """Keep ``metrics``."""
            self.metrics = dict(metrics or {})

    tic = time.perf_counter()
    with distributed_session(cfg):  # as tools/train.py
        runner = build_runner(cfg)
        last = LastVal()
        runner.register_hook(last, priority='LOWEST')
        runner.train()
        val = last.metrics
        if val is None:
            val = dict(runner.val())
        test = dict(runner.test())
        extra = inspect(runner) if inspect is not None else None
        del runner
    return dict(
        val=val, test=test, seconds=time.perf_counter() - tic, extra=extra
    )


def run_key(rec: dict) -> tuple:
    """(arm, seed, lr) of a record: one run."""
    lr = rec.get('lr')
    return rec['arm'], int(rec['seed']), None if lr is None else float(lr)


def load_records(path: str) -> List[dict]:
    """The JSON lines of a results file ([] if it does not exist)."""
    if not path or not osp.isfile(path):
        return []
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, 'item'):
        return value.item()
    return value


def run_one(
    arm: Arm,
    seed: int,
    lr: Optional[float],
    work_dir: str,
    out: Optional[str] = None,
    feature_bank: bool = True,
    extra: Optional[dict] = None,
    inspect: Optional[Callable] = None,
    log: Callable = print,
) -> dict:
    """One run (reused from ``out`` if it is there); its record.

    Raises:
        ValueError: ``out`` has a run of the same arm, seed and lr with
            another config or other overrides.

    The record: ``arm``, ``config``, ``overrides``, ``seed``, ``lr``,
    ``val`` / ``test`` (overall / head / medium / tail mAP), ``val_raw`` /
    ``test_raw`` (all metrics), ``seconds``, ``extra``. It is appended to
    ``out`` as one JSON line.
    """
    key = (arm.name, seed, None if lr is None else float(lr))
    overrides = _jsonable({**arm.overrides, **(extra or {})})
    for rec in load_records(out):
        if run_key(rec) != key:
            continue
        if rec.get('config') != arm.config or rec.get('overrides') != (
            overrides
        ):
            raise ValueError(
                f'{out} already has a run of arm {arm.name!r}, seed {seed}, '
                f'lr {lr} with another config or other overrides; write '
                'to another results file'
            )
        return rec
    lr_tag = 'cfg' if lr is None else f'{lr:g}'
    run_dir = osp.join(work_dir, arm.name.replace(':', '_').replace('/', '_'))
    cfg = build_cfg(
        arm,
        seed,
        lr,
        osp.join(run_dir, f'lr{lr_tag}_seed{seed}'),
        feature_bank,
        extra,
    )
    res = run_cfg(cfg, inspect)
    rec = _jsonable(
        dict(
            arm=arm.name,
            config=arm.config,
            overrides=overrides,
            seed=seed,
            lr=lr,
            val=group_map(res['val']),
            test=group_map(res['test']),
            val_raw=res['val'],
            test_raw=res['test'],
            seconds=round(res['seconds'], 2),
            extra=res['extra'],
        )
    )
    if out:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'a', encoding='utf-8') as f:
            f.write(json.dumps(rec) + '\n')
    log(
        f'{arm.name} seed {seed} lr {lr_tag}: val mAP '
        f'{rec["val"]["overall"]:.4f}, test mAP '
        f'{rec["test"]["overall"]:.4f} ({rec["seconds"]:.1f} s)'
    )
    return rec


def choose_lr(records: Sequence[dict]) -> Optional[float]:
    """The lr of the record with the best validation mAP (the first of
    equals, in grid order)."""
    best = max(records, key=lambda r: r['val']['overall'])
    return best['lr']


def run_study(
    arms: Sequence[Arm],
    seeds: Sequence[int],
    lrs: Optional[Sequence[float]],
    work_dir: str,
    out: str,
    feature_bank: bool = True,
    log: Callable = print,
    inspect: Optional[Callable] = None,
) -> Dict[str, List[dict]]:
    """Every arm: ``seeds[0]`` at each lr, the lr chosen on validation,
    the other seeds at it. ``lrs=None``: the configs' own lr.
    ``inspect(runner)``: see :func:`run_cfg` (the records' ``extra``).

    Returns:
        dict: arm name -> the records at the chosen lr, one per seed.
    """
    if not seeds:
        raise ValueError('seeds must name at least one seed, got []')
    if lrs is not None and not lrs:
        raise ValueError('lrs must be None or a non-empty list, got []')
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ValueError(f'arm names must be unique, got {names}')
    grid = [None] if lrs is None else list(lrs)
    chosen = {}
    for arm in arms:
        kw = dict(feature_bank=feature_bank, inspect=inspect, log=log)
        tuning = [
            run_one(arm, seeds[0], lr, work_dir, out, **kw) for lr in grid
        ]
        lr = choose_lr(tuning)
        runs = [next(r for r in tuning if r['lr'] == lr)]
        runs += [run_one(arm, s, lr, work_dir, out, **kw) for s in seeds[1:]]
        chosen[arm.name] = runs
    return chosen
