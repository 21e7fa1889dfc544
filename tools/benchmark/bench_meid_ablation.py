"""MEID ablation on synthetic long-tailed data (CPU, no mmengine Runner).

Arms (``docs/method.md``, "Ablations"), all trained with the package's
own heads and losses:

* ``a``  ``NonlinearClsHead`` (VideoLT's nonlinear baseline);
* ``b``  expert 1 without attention and distillation
  (``MEIDHead(use_attention=False, loss_distill=None)``, stage 1 only);
* ``c0`` expert 1 with attention, without distillation (stage 1 only);
* ``c``  expert 1 (attention + distillation, stage 1 only);
* ``d``  expert 1 + a second attention expert (``expert2='attention'``,
  two stages);
* ``e``  full MEID (two stages).

Budget: every arm gets the same number of optimisation steps,
``2 * E`` epochs of ``len(train)`` videos at the same batch size. The
single-stage arms (a, b, c0, c) train ``2 * E`` epochs; the two-stage
arms (d, e) train expert 1 for ``E`` epochs (stage 1) and expert 2 for
``E`` epochs (stage 2). Arms d and e share one stage-1 expert per seed
(the stage-1 run is the same for both by definition), which is also
reported as
``c@E`` (expert 1 after ``E`` epochs). Each stage uses a step schedule
(``x 0.1`` at the given fractions of its epochs), Adam and gradient-norm
clipping. Stage 2 draws its epochs with :class:`ClassBalancedSampler`.

Losses go through the heads' own ``loss`` (``MEIDHead.loss`` /
``BaseHead.loss``) with ``ActionDataSample`` ground truth set by
``meid_mmaction.utils.compat.set_gt_label``; ``MODELS.build`` + the head's
``init_weights()`` (as the Runner does). Frames: training draws
``clip_len`` random frames per video with replacement, sorted (as
``SampleFeatureFrames``); evaluation takes ``test_clip_len`` uniformly
spaced frames (as ``SampleFeatureFrames(test_mode=True)``). Scores are
evaluated after the last epoch (nothing is selected on the test split).

Usage (the run in ``docs/benchmarks.md``; about 8 minutes on 2 CPU cores)::

    python tools/benchmark/bench_meid_ablation.py work_dirs/meid_ablation \
        --generate --preset ablation --data-seed 0 --seeds 0 1 2 \
        --epochs 20 --lr 1e-2 --lr2 1e-2 --arm-lr a=0.1 \
        --betas 0.3 0.7 --diagnose

    # learning rate of the baseline on the validation split
    python tools/benchmark/bench_meid_ablation.py work_dirs/meid_ablation \
        --seeds 0 --epochs 20 --tune-lrs 1e-3 3e-3 1e-2 3e-2 1e-1

    # the other arms at one learning rate (validation columns)
    python tools/benchmark/bench_meid_ablation.py work_dirs/meid_ablation \
        --seeds 0 --epochs 20 --arms b c d e --lr 3e-3 --betas
"""
import argparse
import contextlib
import json
import logging
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

GROUPS = ('head', 'medium', 'tail')
ARMS = ('a', 'b', 'c0', 'c', 'd', 'e')
SINGLE_STAGE = ('a', 'b', 'c0', 'c')
ARM_NAMES = {
    'a': 'nonlinear baseline (NonlinearClsHead)',
    'b': 'expert 1, no attention, no distillation',
    'c0': 'expert 1, attention, no distillation',
    'c': 'expert 1 (attention + distillation)',
    'c@E': 'expert 1 after stage 1 only (E epochs)',
    'd': 'expert 1 + second attention expert',
    'e': 'MEID (expert 1 + complementary expert 2)',
}


# ----------------------------------------------------------------------
# data
class SplitData:
    """One split held in memory.

    Attributes:
        feats (torch.Tensor): Padded features ``[V, T_max, D]`` float32.
        lengths (torch.Tensor): Frames per video ``[V]`` int64.
        labels (list[list[int]]): Class indices per video.
        targets (torch.Tensor): Multi-hot ``[V, C]`` float32.
    """

    def __init__(self, root: str, split: str, num_classes: int) -> None:
        from meid_mmaction.datasets.annotations import parse_label_list
        ids, labels = parse_label_list(
            osp.join(root, f'{split}.lst'), num_classes)
        arrays = []
        for vid in ids:
            path = osp.join(root, 'features', f'{vid}.npy')
            if not osp.isfile(path):
                raise FileNotFoundError(f'features of video {vid!r} not '
                                        f'found: {path}')
            arrays.append(np.load(path))
        dim = arrays[0].shape[1]
        t_max = max(a.shape[0] for a in arrays)
        feats = np.zeros((len(arrays), t_max, dim), dtype=np.float32)
        for i, a in enumerate(arrays):
            if a.ndim != 2 or a.shape[1] != dim:
                raise ValueError(f'{ids[i]}.npy has shape {a.shape}, '
                                 f'expected [T, {dim}]')
            feats[i, :a.shape[0]] = a
        self.ids = ids
        self.labels = labels
        self.feats = torch.from_numpy(feats)
        self.lengths = torch.tensor([a.shape[0] for a in arrays])
        self.targets = torch.zeros(len(ids), num_classes)
        for i, lab in enumerate(labels):
            self.targets[i, lab] = 1.0

    def __len__(self) -> int:
        return len(self.ids)

    def train_frames(self, idx: torch.Tensor, clip_len: int,
                     gen: torch.Generator) -> torch.Tensor:
        """Random frames with replacement, sorted: ``[B, clip_len, D]``."""
        lengths = self.lengths[idx].unsqueeze(1)
        u = torch.rand(len(idx), clip_len, generator=gen)
        frame = torch.minimum((u * lengths).long(), lengths - 1)
        frame = frame.sort(dim=1).values
        return self.feats[idx.unsqueeze(1), frame]

    def test_frames(self, clip_len: int) -> torch.Tensor:
        """Uniformly spaced frames of every video: ``[V, clip_len, D]``
        (``floor((i + 0.5) * T / clip_len)``)."""
        lengths = self.lengths.unsqueeze(1).double()
        pos = (torch.arange(clip_len).double() + 0.5) * lengths / clip_len
        frame = torch.minimum(pos.floor().long(),
                              self.lengths.unsqueeze(1) - 1)
        return self.feats[torch.arange(len(self)).unsqueeze(1), frame]


def load_meta(root: str) -> dict:
    path = osp.join(root, 'meta.json')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found; generate the data first (--generate)')
    with open(path, encoding='utf-8') as f:
        return json.load(f)


# ----------------------------------------------------------------------
# models and training
def build_head(kind: str, num_classes: int, feat_dim: int,
               groups: Dict[str, List[int]], seed: int, **kwargs):
    """Build a head with the registry and initialise it like the Runner."""
    from mmaction.registry import MODELS
    torch.manual_seed(seed)
    cfg = dict(type=kind, num_classes=num_classes, in_channels=feat_dim)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    for name in ('distill1', 'distill2'):
        loss = getattr(head, name, None)
        if loss is not None:
            loss.set_class_groups(groups)
    return head


def milestone_epochs(epochs: int, fractions: Sequence[float]) -> List[int]:
    return sorted({max(1, int(round(f * epochs))) for f in fractions})


class Trainer:
    """Runs the epochs of one stage of one head."""

    def __init__(self, data: SplitData, args: argparse.Namespace) -> None:
        from mmaction.structures import ActionDataSample

        from meid_mmaction.datasets.label_list_dataset import (
            LabelListDataset,
        )
        from meid_mmaction.utils.compat import set_gt_label
        self.data = data
        self.args = args
        self.samples = []
        for row in data.targets:
            ds = ActionDataSample()
            set_gt_label(ds, row)
            self.samples.append(ds)
        self.dataset = LabelListDataset(
            data.labels, [str(c) for c in range(data.targets.shape[1])])

    def run_stage(self, head, stage: Optional[int], epochs: int, lr: float,
                  seed: int) -> float:
        """Train ``epochs`` epochs; ``stage`` None for a plain head.

        Returns the wall time in seconds.
        """
        args = self.args
        tic = time.perf_counter()
        if stage is not None:
            head.set_train_stage(stage)
        head.train()
        params = [p for p in head.parameters() if p.requires_grad]
        optim = torch.optim.Adam(params, lr=lr)
        sched = torch.optim.lr_scheduler.MultiStepLR(
            optim, milestone_epochs(epochs, args.milestones), gamma=0.1)
        gen = torch.Generator().manual_seed(seed)
        sampler = None
        if stage == 2:
            from meid_mmaction.datasets.samplers import ClassBalancedSampler
            sampler = ClassBalancedSampler(self.dataset, seed=seed)
        n = len(self.data)
        for epoch in range(epochs):
            if sampler is None:
                order = torch.randperm(n, generator=gen)
            else:
                sampler.set_epoch(epoch)
                order = torch.tensor(list(iter(sampler)))
            for start in range(0, len(order), args.batch_size):
                idx = order[start:start + args.batch_size]
                x = self.data.train_frames(idx, args.clip_len, gen)
                batch = [self.samples[i] for i in idx.tolist()]
                losses = head.loss(x, batch)
                loss = sum(losses.values())
                optim.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, args.grad_clip)
                optim.step()
            sched.step()
        return time.perf_counter() - tic


@torch.no_grad()
def predict(head, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Sigmoid scores ``[V, C]`` of inputs ``[V, N, D]`` (eval mode)."""
    head.eval()
    out = [torch.sigmoid(head(x[i:i + batch_size]))
           for i in range(0, len(x), batch_size)]
    return torch.cat(out)


def evaluate(scores: torch.Tensor, targets: torch.Tensor,
             groups: Dict[str, List[int]]) -> Dict[str, float]:
    """mAP overall / head / medium / tail with the package's AP."""
    from meid_mmaction.evaluation.functional.average_precision import (
        average_precision,
        mean_ap,
    )
    ap = average_precision(scores, targets)
    out = dict(overall=mean_ap(ap))
    for g in GROUPS:
        out[g] = mean_ap(ap, groups[g])
    return out


# ----------------------------------------------------------------------
# diagnostics (where do expert 1's frame weights go?)
def read_segments(root: str, split: str, ids: List[str]
                  ) -> List[Tuple[int, int, int, int]]:
    """Ground-truth segments ``(video row, class, start, length)`` of a
    split from the generator's ``segments.csv``."""
    import csv
    path = osp.join(root, 'segments.csv')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found (needed by --diagnose)')
    row_of = {vid: i for i, vid in enumerate(ids)}
    out = []
    with open(path, encoding='utf-8', newline='') as f:
        for rec in csv.DictReader(f):
            if rec['split'] == split:
                out.append((row_of[rec['video_id']], int(rec['class']),
                            int(rec['start']), int(rec['length'])))
    return out


@torch.no_grad()
def weight_shares(head, data: SplitData, segments, groups,
                  betas: Sequence[float]) -> Dict[str, Dict[str, float]]:
    """Share of the pooling weight that falls on ground-truth segment frames.

    For every segment of a class group, the fraction
    ``sum_{t in segment} w_t / sum_t w_t`` of the video's pooling weight,
    averaged over the group's segments, for uniform weights, expert 1's
    attention ``A`` and the complementary weights ``1 / (A + beta)``. All
    frames of each video are used (no sampling). Also the mean ``A`` on
    background frames and on frames of each group.
    """
    head.eval()
    v, t_max = data.feats.shape[:2]
    valid = (torch.arange(t_max)[None] < data.lengths[:, None]).double()
    att = torch.cat([
        head.expert1.forward_with_weights(data.feats[i:i + 512])[1]
        for i in range(0, v, 512)
    ]).double() * valid
    weights = dict(uniform=valid, A=att)
    for b in betas:
        weights[f'1/(A+{b:g})'] = valid / (att + b)
    group_of = {}
    for g, idx in groups.items():
        for c in idx:
            group_of[c] = g
    active = {g: torch.zeros(v, t_max, dtype=torch.bool) for g in groups}
    out: Dict[str, Dict[str, float]] = {k: {} for k in weights}
    shares = {k: {g: [] for g in groups} for k in weights}
    for row, c, start, length in segments:
        g = group_of[c]
        active[g][row, start:start + length] = True
        for k, w in weights.items():
            shares[k][g].append(
                float(w[row, start:start + length].sum() / w[row].sum()))
    for k in weights:
        for g in groups:
            out[k][f'share {g}'] = float(np.mean(shares[k][g]))
    any_seg = torch.zeros(v, t_max, dtype=torch.bool)
    for m in active.values():
        any_seg |= m
    mean_a = {'background': (~any_seg) & valid.bool()}
    mean_a.update({g: m for g, m in active.items()})
    mean_a['tail, no head'] = active['tail'] & ~active['head']
    out['mean A'] = {k: float(att[m].mean()) for k, m in mean_a.items()}
    return out


# ----------------------------------------------------------------------
# experiment
class Bench:

    def __init__(self, args: argparse.Namespace) -> None:
        from meid_mmaction.datasets.annotations import parse_class_counts
        from meid_mmaction.datasets.class_groups import split_groups
        self.args = args
        meta = load_meta(args.data_root)
        self.meta = meta
        self.num_classes = int(meta['num_classes'])
        self.feat_dim = int(meta['feat_dim'])
        _, counts = parse_class_counts(
            osp.join(args.data_root, 'count-labels-train.lst'),
            self.num_classes)
        head_thr, tail_thr = meta['group_thresholds']
        self.groups = split_groups(counts, head_thr, tail_thr)
        tic = time.perf_counter()
        self.train = SplitData(args.data_root, 'train', self.num_classes)
        self.val = SplitData(args.data_root, 'validate', self.num_classes)
        self.test = SplitData(args.data_root, 'test', self.num_classes)
        self.load_seconds = time.perf_counter() - tic
        self.val_x = self.val.test_frames(args.test_clip_len)
        self.test_x = self.test.test_frames(args.test_clip_len)
        self.trainer = Trainer(self.train, args)

    def head(self, kind: str, seed: int, **kwargs):
        if kind == 'MEIDHead' and kwargs.get('expert2') != 'attention':
            kwargs.setdefault('cfs_norm', self.args.cfs_norm)
        return build_head(kind, self.num_classes, self.feat_dim, self.groups,
                          seed, **kwargs)

    def scores(self, head) -> Dict[str, Dict[str, float]]:
        return dict(
            val=evaluate(predict(head, self.val_x), self.val.targets,
                         self.groups),
            test=evaluate(predict(head, self.test_x), self.test.targets,
                          self.groups))

    def single_stage(self, arm: str, seed: int, epochs: int,
                     lr: float) -> Tuple[dict, float]:
        if arm == 'a':
            head = self.head('NonlinearClsHead', seed,
                             dropout_ratio=self.args.dropout)
            stage = None
        else:
            kwargs = dict(b=dict(use_attention=False, loss_distill=None),
                          c0=dict(loss_distill=None)).get(arm, {})
            head = self.head('MEIDHead', seed, **kwargs)
            stage = 1
        sec = self.trainer.run_stage(head, stage, epochs, lr, seed)
        return self.scores(head), sec

    def two_stage(self, seed: int, epochs: int, lr: float,
                  variants: Sequence[Tuple[str, str, float, str]],
                  diagnose: bool = False) -> dict:
        """One stage-1 expert, then one stage 2 per variant
        ``(name, expert2, beta, cfs)``; every stage-2 head starts from the
        same expert 1 and (same seed) the same expert-2 initialisation.

        ``cfs`` is ``'R'`` (the method, ``R = 1 / (A + beta)``) or, as a
        diagnostic of complementary frame selection only, ``'uniform'``
        (expert 2 sees constant weights: plain mean pooling) or ``'A'``
        (expert 2 pools with expert 1's own attention, ``R = A``; done by
        handing expert 2 ``1 / A - beta`` in place of ``A``) or ``'static'``
        (CFS kept, but the motion branch sees the raw frames ``X`` instead
        of ``X_M``: same capacity, no frame differences).
        """
        head1 = self.head('MEIDHead', seed)
        sec1 = self.trainer.run_stage(head1, 1, epochs, lr, seed)
        out = {'c@E': (self.scores(head1), sec1)}
        if diagnose:
            segs = read_segments(self.args.data_root, 'test', self.test.ids)
            out['diagnose'] = weight_shares(head1, self.test, segs,
                                            self.groups, (0.3, 0.5, 0.7))
        state1 = {k: v.clone() for k, v in head1.state_dict().items()
                  if k.startswith(('expert1.', 'distill1.'))}
        for name, expert2, beta, cfs in variants:
            head = self.head('MEIDHead', seed + 1000, expert2=expert2,
                             beta=beta)
            missing = head.load_state_dict(state1, strict=False)
            if missing.unexpected_keys:
                raise RuntimeError(
                    f'unexpected keys {missing.unexpected_keys}')
            if cfs in ('uniform', 'A'):
                override_cfs(head, cfs)
            with static_motion(cfs == 'static'):
                sec2 = self.trainer.run_stage(
                    head, 2, epochs, self.args.lrs['s2'], seed + 1000)
                out[name] = (self.scores(head), sec1 + sec2)
        return out


def override_cfs(head, cfs: str) -> None:
    """Diagnostic: change the frame weights expert 2 receives (see
    :meth:`Bench.two_stage`); expert 1 itself is untouched. The instance
    attribute shadows ``ComplementaryExpert.forward``."""
    expert2 = head.expert2
    original = type(expert2).forward.__get__(expert2)
    beta = expert2.beta
    if cfs == 'uniform':
        # constant A -> constant R = 1 / (A + beta): plain mean pooling
        expert2.forward = lambda x, a: original(x, torch.zeros_like(a))
    elif cfs == 'A':
        # R = 1 / ((1 / A - beta) + beta) = A
        expert2.forward = lambda x, a: original(x, 1.0 / a - beta)
    else:
        raise ValueError(f"cfs must be 'R', 'uniform' or 'A', got {cfs!r}")


@contextlib.contextmanager
def static_motion(enabled: bool):
    """Diagnostic: while active, expert 2's motion branch gets the raw
    frames (``motion_features`` is the identity)."""
    from meid_mmaction.models.heads import meid_modules
    original = meid_modules.motion_features
    if enabled:
        meid_modules.motion_features = lambda x: x
    try:
        yield
    finally:
        meid_modules.motion_features = original


def fmt(values: Sequence[float]) -> str:
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) == 1:
        return f'{arr[0]:.3f}'
    return f'{arr.mean():.3f} ± {arr.std(ddof=1):.3f}'


def print_table(results: Dict[str, List[dict]], split: str,
                title: str) -> str:
    lines = [f'### {title}', '',
             '| arm | seeds | overall | head | medium | tail |',
             '|---|---|---|---|---|---|']
    for arm, runs in results.items():
        cells = [fmt([r[split][g] for r in runs])
                 for g in ('overall',) + GROUPS]
        lines.append(f'| {arm}: {ARM_NAMES.get(arm, arm)} | {len(runs)} | '
                     + ' | '.join(cells) + ' |')
    text = '\n'.join(lines)
    print(text, flush=True)
    return text


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='synthetic dataset directory')
    p.add_argument('--generate', action='store_true',
                   help='generate the data into data_root if it has no '
                   'meta.json')
    p.add_argument('--preset', default='ablation')
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--arms', nargs='+', default=list(ARMS), choices=ARMS)
    p.add_argument('--epochs', type=int, default=20,
                   help='E: epochs per stage; single-stage arms get 2 E')
    p.add_argument('--lr', type=float, default=1e-2,
                   help='stage-1 (and single-stage) learning rate')
    p.add_argument('--lr2', type=float, default=None,
                   help='stage-2 learning rate; default lr * 0.1 '
                   '(docs/method.md: 1e-4 after 1e-3)')
    p.add_argument('--arm-lr', nargs='*', default=[], metavar='KEY=LR',
                   help='per-arm learning rates chosen on validation, keys '
                   'a, b, c0, c (single-stage arms), s1 / s2 (stage 1 / 2 of '
                   'the two-stage arms d, e); others use --lr / --lr2')
    p.add_argument('--milestones', type=float, nargs='+',
                   default=[0.6, 0.8],
                   help='lr x 0.1 at these fractions of a stage')
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--clip-len', type=int, default=24)
    p.add_argument('--test-clip-len', type=int, default=64)
    p.add_argument('--grad-clip', type=float, default=20.0)
    p.add_argument('--dropout', type=float, default=0.5,
                   help='NonlinearClsHead dropout_ratio')
    p.add_argument('--cfs-norm', default='none', choices=('none', 'max'),
                   help="MEIDHead cfs_norm: 'max' takes the complement of "
                   'A / max_n A (scale-free) instead of A')
    p.add_argument('--betas', type=float, nargs='*', default=[0.3, 0.7],
                   help='extra MEID betas, first seed only (besides 0.5)')
    p.add_argument('--tune-lrs', type=float, nargs='*', default=None,
                   help='only train the baseline (arm a) at these lrs for '
                   '2 E epochs and report validation mAP')
    p.add_argument('--diagnose', action='store_true',
                   help='first seed: where expert 1 attention / CFS weights '
                   'fall (segments.csv); stage 2 with uniform or '
                   'attention weights instead of CFS, and without motion')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--out-json', default=None)
    args = p.parse_args(argv)
    if args.lr2 is None:
        args.lr2 = 0.1 * args.lr
    lrs = dict(a=args.lr, b=args.lr, c0=args.lr, c=args.lr, s1=args.lr,
               s2=args.lr2)
    for item in args.arm_lr:
        key, sep, value = item.partition('=')
        if not sep or key not in lrs:
            p.error(f'--arm-lr expects KEY=LR with KEY in {sorted(lrs)}, '
                    f'got {item!r}')
        try:
            lrs[key] = float(value)
        except ValueError:
            p.error(f'--arm-lr {key}: expected a number, got {value!r}')
    args.lrs = lrs
    if args.epochs < 1:
        p.error(f'--epochs must be >= 1, got {args.epochs}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from mmengine.registry import init_default_scope

    import meid_mmaction  # noqa: F401  (registers the modules)
    init_default_scope('mmaction')
    # init_weights() logs every parameter at INFO level
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    if args.generate and not osp.isfile(osp.join(args.data_root,
                                                 'meta.json')):
        from meid_mmaction.datasets.tools.synthetic import (
            generate_synthetic_lt,
        )
        generate_synthetic_lt(args.data_root, preset=args.preset,
                              seed=args.data_seed)
    tic = time.perf_counter()
    bench = Bench(args)
    meta = bench.meta
    print(f'data {args.data_root} (preset {meta["preset"]}, seed '
          f'{meta["seed"]}): train/val/test '
          f'{len(bench.train)}/{len(bench.val)}/{len(bench.test)} videos, '
          f'groups ' + '/'.join(str(len(bench.groups[g])) for g in GROUPS)
          + f'; loaded in {bench.load_seconds:.1f} s', flush=True)
    e = args.epochs
    print(f'epochs: {2 * e} (single-stage arms), {e} + {e} (two-stage); '
          f'seeds {args.seeds}; learning rates {args.lrs}', flush=True)
    results: Dict[str, List[dict]] = {}
    walls: Dict[str, List[float]] = {}

    def add(name, res, sec):
        results.setdefault(name, []).append(res)
        walls.setdefault(name, []).append(sec)
        t = res['test']
        print(f'  {name:6s} val {res["val"]["overall"]:.3f}  test '
              + ' '.join(f'{t[g]:.3f}' for g in ('overall',) + GROUPS)
              + f'  ({sec:.0f} s)', flush=True)

    if args.tune_lrs:
        for lr in args.tune_lrs:
            for seed in args.seeds:
                res, sec = bench.single_stage('a', seed, 2 * e, lr)
                add(f'a lr={lr:g}', res, sec)
        print_table(results, 'val', 'baseline, validation mAP')
        return 0

    extra: Dict[str, dict] = {}
    diagnosis = None
    for k, seed in enumerate(args.seeds):
        print(f'seed {seed}', flush=True)
        for arm in SINGLE_STAGE:
            if arm in args.arms:
                add(arm, *bench.single_stage(arm, seed, 2 * e,
                                             args.lrs[arm]))
        variants = []
        if 'd' in args.arms:
            variants.append(('d', 'attention', 0.5, 'R'))
        if 'e' in args.arms:
            variants.append(('e', 'complementary', 0.5, 'R'))
            if k == 0:
                variants += [(f'e β={b:g}', 'complementary', b, 'R')
                             for b in args.betas]
                if args.diagnose:
                    variants += [
                        ('e R=1', 'complementary', 0.5, 'uniform'),
                        ('e R=A', 'complementary', 0.5, 'A'),
                        ('e no motion', 'complementary', 0.5, 'static')]
        if variants:
            out = bench.two_stage(seed, e, args.lrs['s1'], variants,
                                  diagnose=args.diagnose and k == 0)
            if 'diagnose' in out:
                diagnosis = out.pop('diagnose')
            for name, (res, sec) in out.items():
                if name.startswith('e '):
                    extra[name] = res
                    t = res['test']
                    print(f'  {name} test ' + ' '.join(
                        f'{t[g]:.3f}' for g in ('overall',) + GROUPS),
                        flush=True)
                else:
                    add(name, res, sec)
    wall = time.perf_counter() - tic
    print()
    text = print_table(results, 'test', 'test mAP (last epoch)')
    print()
    print_table(results, 'val', 'validation mAP (last epoch)')
    if extra:
        print(f'\nseed {args.seeds[0]} only (test mAP overall / head / '
              'medium / tail):')
        rows = dict(extra)
        if 'e' in results:
            rows['e β=0.5'] = results['e'][0]
        for name in sorted(rows):
            t = rows[name]['test']
            print(f'  {name}: ' + ' / '.join(
                f'{t[g]:.3f}' for g in ('overall',) + GROUPS))
    if diagnosis is not None:
        print(f'\nexpert 1 frame weights on the test split (seed '
              f'{args.seeds[0]}, stage 1):')
        for k, row in diagnosis.items():
            print(f'  {k:12s} ' + ', '.join(
                f'{n} {v:.3f}' for n, v in row.items()))
    print(f'\nwall time {wall:.0f} s; per run: ' + ', '.join(
        f'{k} {np.mean(v):.0f} s' for k, v in walls.items()))
    if args.out_json:
        with open(args.out_json, 'w', encoding='utf-8') as f:
            json.dump(dict(args=vars(args), results=results,
                           extra=extra, diagnosis=diagnosis, walls=walls,
                           wall=wall, table=text), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
