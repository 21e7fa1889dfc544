"""Long-tail baselines on synthetic data (CPU, no mmengine Runner).

Every arm is VideoLT's nonlinear classifier (``NonlinearClsHead``) trained
with the package's own components, exactly as the configs in
``configs/baselines/`` combine them:

* ``bce``        ``MultiLabelFocalLoss(gamma=0)``
* ``focal``      ``MultiLabelFocalLoss(gamma=1)``
* ``cb``         ``ClassBalancedLoss`` (beta 0.9999)
* ``ldam_drw``   ``LDAMLoss`` (DRW from half of the epochs on)
* ``eql``        ``EQLLoss`` (random form, tail = dataset's tail group)
* ``cbs``        BCE + ``ClassBalancedSampler(label_mask=True)``
* ``srs``        BCE + ``SquareRootSampler(label_mask=True)``
* ``mixup``      BCE + ``MultiLabelMixup`` (alpha 1)
* ``framestack`` focal + ``FrameStack`` (per-class training AP of the
  previous epoch, measured by ``FrameStackAPHook``)

Protocol: the same epochs, batch size, schedule (Adam, x0.1 at 30 % and
60 % of the epochs, gradient clipping 20) for every arm. Each arm's
learning rate is chosen on the *validation* split (``--lrs``, seed 0);
with it the arm is trained with every seed of ``--seeds`` and evaluated
once on the *test* split (overall / head / medium / tail mAP, classes
without a positive left out). Wall time is per training run.

Usage (the run in ``docs/benchmarks.md``)::

    python tools/data/generate_synthetic.py data/synthetic_lt
    python tools/benchmark/bench_baselines.py data/synthetic_lt \
        --epochs 12 --lrs 3e-3 1e-2 3e-2 --seeds 0 1 2 \
        --out work_dirs/bench_baselines.json
"""

import argparse
import json
import logging
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from meid_mmaction.datasets.label_list_dataset import LabelListDataset

GROUPS = ('head', 'medium', 'tail')


# ----------------------------------------------------------------------
# in-memory data
class SplitData:
    """One split held in memory (features padded to ``[V, T_max, D]``).

    Training clips: ``clip_len`` frames drawn uniformly with replacement and
    sorted (as ``SampleFeatureFrames``); test clips: the package's
    ``uniform_frame_indices`` (as ``SampleFeatureFrames(test_mode=True)``).
    """

    def __init__(self, root: str, split: str, num_classes: int) -> None:
        from meid_mmaction.datasets.annotations import parse_label_list

        ids, labels = parse_label_list(
            osp.join(root, f'{split}.lst'), num_classes
        )
        arrays = [np.load(osp.join(root, 'features', f'{v}.npy')) for v in ids]
        t_max = max(a.shape[0] for a in arrays)
        feats = np.zeros(
            (len(arrays), t_max, arrays[0].shape[1]), dtype=np.float32
        )
        for i, a in enumerate(arrays):
            feats[i, : a.shape[0]] = a
        self.labels = labels
        self.feats = torch.from_numpy(feats)
        self.lengths = torch.tensor([a.shape[0] for a in arrays])
        self.targets = torch.zeros(len(ids), num_classes)
        for i, lab in enumerate(labels):
            self.targets[i, lab] = 1.0

    def __len__(self) -> int:
        return len(self.labels)

    def train_frames(
        self, idx: torch.Tensor, clip_len: int, gen: torch.Generator
    ) -> torch.Tensor:
        """Random frames with replacement, sorted: ``[B, clip_len, D]``."""
        lengths = self.lengths[idx].unsqueeze(1)
        u = torch.rand(len(idx), clip_len, generator=gen)
        frame = torch.minimum((u * lengths).long(), lengths - 1)
        return self.feats[idx.unsqueeze(1), frame.sort(dim=1).values]

    def test_frames(self, clip_len: int) -> torch.Tensor:
        """Uniformly spaced frames of every video ``[V, clip_len, D]``."""
        from meid_mmaction.datasets.transforms.sampling import (
            uniform_frame_indices,
        )

        frame = torch.stack(
            [
                torch.from_numpy(uniform_frame_indices(int(n), clip_len))
                for n in self.lengths
            ]
        )
        return self.feats[torch.arange(len(self)).unsqueeze(1), frame]


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


def milestone_epochs(epochs: int, fractions) -> List[int]:
    """Epochs at which the lr drops (x0.1)."""
    return sorted({max(1, int(round(f * epochs))) for f in fractions})


@torch.no_grad()
def predict(head, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Sigmoid scores ``[V, C]`` of inputs ``[V, N, D]`` (eval mode)."""
    head.eval()
    return torch.cat(
        [
            torch.sigmoid(head(x[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ]
    )


def evaluate(
    scores: torch.Tensor, targets: torch.Tensor, groups: Dict[str, List[int]]
) -> Dict[str, float]:
    """mAP overall / head / medium / tail with the package's AP."""
    from meid_mmaction.evaluation.functional import average_precision, mean_ap

    ap = average_precision(scores, targets)
    out = dict(overall=mean_ap(ap))
    for g in GROUPS:
        out[g] = mean_ap(ap, groups[g])
    return out


BCE = dict(type='MultiLabelFocalLoss', gamma=0.0)
FOCAL = dict(type='MultiLabelFocalLoss', gamma=1.0)
ARMS = {
    'bce': dict(loss=BCE),
    'focal': dict(loss=FOCAL),
    'cb': dict(loss=dict(type='ClassBalancedLoss', beta=0.9999)),
    'ldam_drw': dict(loss=dict(type='LDAMLoss')),  # drw_epoch set per run
    'eql': dict(loss=dict(type='EQLLoss')),
    'cbs': dict(loss=BCE, sampler='ClassBalancedSampler'),
    'srs': dict(loss=BCE, sampler='SquareRootSampler'),
    'mixup': dict(loss=BCE, blending=dict(type='MultiLabelMixup')),
    'framestack': dict(loss=FOCAL, blending=dict(type='FrameStack')),
}


class MaskedLabelDataset(LabelListDataset):
    """Label lists whose encoded (video, class) indices this script
    decodes itself (``decode_drawn_index``), as the feature datasets do."""

    accepts_drawn_index = True


class _Model(torch.nn.Module):
    """Head + blending, so that FrameStackAPHook finds both."""

    def __init__(self, head, blending) -> None:
        super().__init__()
        self.head = head
        self.blending = blending


class Bench:
    """Data in memory and one training run per (arm, lr, seed)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from meid_mmaction.datasets.annotations import parse_class_counts
        from meid_mmaction.datasets.class_groups import ClassGroups

        self.args = args
        meta = load_meta(args.data_root)
        self.num_classes = int(meta['num_classes'])
        self.feat_dim = int(meta['feat_dim'])
        _, counts = parse_class_counts(
            osp.join(args.data_root, 'count-labels-train.lst'),
            self.num_classes,
        )
        self.counts = [int(c) for c in counts]
        head_thr, tail_thr = meta['group_thresholds']
        self.groups = ClassGroups.from_counts(
            counts, head_thr, tail_thr
        ).groups
        self.train = SplitData(args.data_root, 'train', self.num_classes)
        self.val = SplitData(args.data_root, 'validate', self.num_classes)
        self.test = SplitData(args.data_root, 'test', self.num_classes)
        self.val_x = self.val.test_frames(args.test_clip_len)
        self.test_x = self.test.test_frames(args.test_clip_len)
        self.dataset = MaskedLabelDataset(
            self.train.labels, [str(c) for c in range(self.num_classes)]
        )

    def build(self, arm: str, seed: int):
        from mmaction.registry import MODELS

        spec = ARMS[arm]
        torch.manual_seed(seed)
        loss = dict(spec['loss'])
        if loss['type'] == 'LDAMLoss':
            loss['drw_epoch'] = self.args.epochs // 2
        if loss['type'] == 'EQLLoss':
            loss['seed'] = seed
        head = MODELS.build(
            dict(
                type='NonlinearClsHead',
                num_classes=self.num_classes,
                in_channels=self.feat_dim,
                dropout_ratio=self.args.dropout,
                loss_cls=loss,
            )
        )
        head.init_weights()
        for m in head.modules():  # what LongTailLossHook hands over
            if hasattr(m, 'set_class_counts'):
                m.set_class_counts(self.counts)
            if hasattr(m, 'set_class_groups'):
                m.set_class_groups(self.groups)
        blending = None
        if spec.get('blending'):
            blending = MODELS.build(
                dict(spec['blending'], num_classes=self.num_classes, seed=seed)
            )
        return head, blending

    def sampler(self, arm: str, seed: int):
        """The arm's class-aware sampler (label mask on), or None."""
        from mmaction.registry import DATA_SAMPLERS

        sampler_type = ARMS[arm].get('sampler')
        if sampler_type is None:
            return None
        return DATA_SAMPLERS.build(
            dict(type=sampler_type, seed=seed, label_mask=True),
            default_args=dict(dataset=self.dataset),
        )

    def batches(self, sampler, epoch: int, gen: torch.Generator):
        """(video indices, drawn classes or None) per batch."""
        from meid_mmaction.datasets.samplers import decode_drawn_index

        n = len(self.train)
        if sampler is None:
            order = torch.randperm(n, generator=gen).tolist()
            drawn = [None] * n
        else:
            sampler.set_epoch(epoch)
            pairs = [decode_drawn_index(i, n) for i in sampler]
            order = [v for v, _ in pairs]
            drawn = [c for _, c in pairs]
        bs = self.args.batch_size
        for start in range(0, len(order), bs):
            yield (
                torch.tensor(order[start : start + bs]),
                drawn[start : start + bs],
            )

    def run(self, arm: str, lr: float, seed: int) -> Dict[str, dict]:
        from mmaction.structures import ActionDataSample

        from meid_mmaction.engine.hooks import FrameStackAPHook
        from meid_mmaction.utils.compat import set_gt_label

        args = self.args
        tic = time.perf_counter()
        head, blending = self.build(arm, seed)
        model = _Model(head, blending)
        runner = type('Runner', (), dict(model=model))()
        ap_hook = FrameStackAPHook()
        params = list(head.parameters())
        optim = torch.optim.Adam(params, lr=lr)
        sched = torch.optim.lr_scheduler.MultiStepLR(
            optim, milestone_epochs(args.epochs, (0.3, 0.6)), gamma=0.1
        )
        gen = torch.Generator().manual_seed(seed)
        sampler = self.sampler(arm, seed)
        model.train()
        for epoch in range(args.epochs):
            for m in head.modules():
                if hasattr(m, 'set_train_epoch'):
                    m.set_train_epoch(epoch)
            ap_hook.before_train_epoch(runner)
            for idx, drawn in self.batches(sampler, epoch, gen):
                x = self.train.train_frames(idx, args.clip_len, gen)
                samples = []
                for i, c in zip(idx.tolist(), drawn):
                    ds = set_gt_label(
                        ActionDataSample(), self.train.targets[i]
                    )
                    if c is not None:
                        ds.set_metainfo(dict(drawn_class=c))
                    samples.append(ds)
                if blending is not None:
                    x, samples = blending(x, samples)
                loss = sum(head.loss(x, samples).values())
                optim.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 20.0)
                optim.step()
            ap_hook.after_train_epoch(runner)
            sched.step()
        seconds = time.perf_counter() - tic
        return dict(
            val=evaluate(
                predict(head, self.val_x), self.val.targets, self.groups
            ),
            test=evaluate(
                predict(head, self.test_x), self.test.targets, self.groups
            ),
            seconds=seconds,
        )


def fmt(values) -> str:
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) == 1:
        return f'{arr[0]:.3f}'
    return f'{arr.mean():.3f} ± {arr.std(ddof=1):.3f}'


def table(results: Dict[str, dict]) -> str:
    lines = [
        '| arm | lr (val) | val mAP | seeds | test overall | head | '
        'medium | tail | wall s / run |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for arm, res in results.items():
        runs = res['runs']
        cells = [
            fmt([r['test'][g] for r in runs]) for g in ('overall',) + GROUPS
        ]
        secs = fmt([r['seconds'] for r in runs])
        lines.append(
            f'| {arm} | {res["lr"]:g} | {res["val"]:.3f} | '
            f'{len(runs)} | ' + ' | '.join(cells) + f' | {secs} |'
        )
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='synthetic dataset directory')
    p.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS))
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--lrs', type=float, nargs='+', default=[3e-3, 1e-2])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--clip-len', type=int, default=24)
    p.add_argument('--test-clip-len', type=int, default=48)
    p.add_argument('--dropout', type=float, default=0.5)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--out', help='write all results as JSON here')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from mmengine.logging import MMLogger

    import meid_mmaction  # noqa: F401

    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init logs
    bench = Bench(args)
    results: Dict[str, dict] = {}
    for arm in args.arms:
        tuning = {}
        for lr in args.lrs:  # selection on validation, first seed
            tuning[lr] = bench.run(arm, lr, args.seeds[0])
            print(
                f'{arm} lr {lr:g}: val mAP '
                f'{tuning[lr]["val"]["overall"]:.4f} '
                f'({tuning[lr]["seconds"]:.1f} s)',
                flush=True,
            )
        best: Optional[float] = max(
            tuning, key=lambda lr: tuning[lr]['val']['overall']
        )
        runs = [tuning[best]] + [
            bench.run(arm, best, s) for s in args.seeds[1:]
        ]
        results[arm] = dict(
            lr=best,
            val=tuning[best]['val']['overall'],
            tuning={str(k): v['val']['overall'] for k, v in tuning.items()},
            runs=runs,
        )
        print(table({arm: results[arm]}).splitlines()[-1], flush=True)
    text = table(results)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
