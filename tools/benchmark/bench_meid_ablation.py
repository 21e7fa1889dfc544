"""MEID ablation through the shipped training path (Runner + configs).

Every arm is ``configs/meid_synthetic.py`` (MEID arms, ``TwoStageTrainLoop``)
or ``configs/nonlinear_synthetic.py`` (nonlinear baseline, mmengine's
``EpochBasedTrainLoop``) plus overrides (data keys, head options, schedule),
run by the study harness (``study.py``: ``tools/train.py``'s config reading
and ``build_runner``, ``runner.train()``, ``runner.test()``), with
``LongTailMAP`` for validation and test and the package's pipeline. Every
split is held in memory by the dataset's own ``feature_bank`` (float32),
so that CPU runs take seconds.

Arms (``docs/method.md``, "Ablations"); budget ``2 E`` epochs each:

* ``nonlinear``   ``NonlinearClsHead`` (VideoLT's baseline), ``2 E`` epochs;
* ``e1_plain``    expert 1 without attention and distillation, ``2 E``;
* ``e1_nodistill`` expert 1 with attention, no distillation, ``2 E``;
* ``e1``          expert 1 (attention + distillation), ``2 E``;
* ``e1@E``        expert 1 after ``E`` epochs: the shared stage 1 of the
  two-stage arms (its checkpoint is their ``load_from``);
* ``e1+e1``       stage 2 trains a second attention expert
  (``expert2='attention'``), ``E`` epochs;
* ``meid:<variant>`` stage 2 trains the complementary expert with the
  ``MEIDHead`` options of the variant (:data:`VARIANTS`), ``E`` epochs.

Per preset and seed the tool writes one JSON record per arm (validation and
test mAP overall / head / medium / tail, wall time) to ``--out-json``, after
every arm, so a study that is stopped keeps what it finished. With
``--mix-weights`` the expert-1 / expert-2 probability mixture
``w sigmoid(Y) + (1 - w) sigmoid(Y_F)`` is also scored for every MEID arm
from the same trained head (``MEIDHead(inference='prob_mix')``), so the
mixing weight can be chosen on validation without retraining.

Diagnostics (``--diagnose``, needs the generator's ``segments.csv``):
share of expert 2's pooling weight ``R`` on the frames of tail / head
segments versus uniform weights, and the ratio of the batch variance of the
head-class logits to that of the tail-class logits (``Var_head / Var_tail``,
averaged over classes of each group, test split) for ``Y`` (expert 1) and
``Y_F`` (expert 2), with and without distillation.

Usage (the study in ``docs/benchmarks.md``, "MEID's second expert")::

    python tools/benchmark/bench_meid_ablation.py work_dirs/meid_study \\
        --presets premise premise_static charades \\
        --charades-dir ../shared/data/charades --seeds 0 1 2 --epochs 5 \\
        --batch-size 128 --clip-len 16 --test-clip-len 24 \\
        --lr nonlinear=0.1 e1=0.01 s2=0.01 \\
        --arms e1 e1+e1 meid:paper meid:release meid:cfs_rank meid:mask \\
        --first-seed-arms nonlinear e1_plain e1_nodistill meid:no_distill \\
            meid:necks_unit meid:necks_expert1 \\
        --betas 0.3 0.7 --diagnose --diagnose-all \\
        --out-json work_dirs/meid_study/results.jsonl
    python tools/benchmark/bench_meid_ablation.py x \\
        --summarize work_dirs/meid_study/results.jsonl [--split val] [--select]
"""

import argparse
import csv
import json
import logging
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from study import LR_KEY, Arm, build_cfg, group_map, run_cfg

GROUPS = ('head', 'medium', 'tail')

# The paper's values of every variant key of MEIDHead (docs/method.md).
PAPER_VARIANT = dict(
    stage2_loss='sum',
    inference='logit_sum',
    inference_weight=0.5,
    cfs_norm='none',
    cfs_background_thr=0.0,
    distill2_necks='own',
)

# MEIDHead options of each stage-2 variant; source in the comment.
VARIANTS: Dict[str, dict] = {
    # paper (docs/method.md): L(Y + Y_F), sigmoid(Y + Y_F), R = 1 / (A + beta)
    'paper': {},
    # release: L(Y_F), 0.5 sigmoid(Y) + 0.5 sigmoid(Y_F)
    'release': dict(stage2_loss='expert2', inference='prob_mix'),
    # paper objective, release inference
    'paper_mix': dict(inference='prob_mix'),
    # ours: complement of A / max_n A; of the within-video rank of A
    'cfs_max': dict(cfs_norm='max'),
    'cfs_rank': dict(cfs_norm='rank'),
    # ours: rank complement, frames with A / max A < 0.1 excluded
    'cfs_rank_bg': dict(cfs_norm='rank', cfs_background_thr=0.1),
    'release_rank': dict(
        stage2_loss='expert2', inference='prob_mix', cfs_norm='rank'
    ),
    # distillation necks of stage 2 (ours): expert 1's, frozen; unit-norm
    # rows; frozen random; no stage-2 distillation at all
    'necks_expert1': dict(distill2_necks='expert1'),
    'necks_unit': dict(loss_distill_neck_mode='unit'),
    'necks_frozen': dict(loss_distill_neck_mode='frozen'),
    'no_distill': dict(loss_distill=None),
    # release: stage-2 class-balanced sampling masks the loss of a video's
    # positives other than the drawn class (ClassBalancedSampler
    # label_mask=True)
    'mask': dict(label_mask=True),
    # ours: the combination chosen on validation after stage 2
    # (ExpertCombinationHook), one for all classes / one per group
    'auto': dict(inference='auto'),
    'auto_group': dict(inference='auto_group'),
}


# ----------------------------------------------------------------------
# configs
def data_overrides(
    root: str,
    meta: dict,
    batch_size: int,
    clip_len: int,
    test_clip_len: int,
) -> dict:
    """The data keys pointing at the generated data in ``root`` (as a
    user's ``--cfg-options`` would), the batch sizes and the evaluators;
    ``study.build_cfg`` writes the keys into the loaders as
    ``tools/train.py`` does and holds every split in memory
    (``feature_bank``)."""
    head_thr, tail_thr = meta['group_thresholds']
    return {
        'data_root': root,
        'feat_dir': 'features',
        'count_file': 'count-labels-train.lst',
        'num_classes': int(meta['num_classes']),
        'feat_dim': int(meta['feat_dim']),
        'head_thr': int(head_thr),
        'tail_thr': int(tail_thr),
        'train_split': 'train.lst',
        'val_split': 'validate.lst',
        'test_split': 'test.lst',
        'train_clip_len': clip_len,
        'test_clip_len': test_clip_len,
        'train_dataloader.batch_size': batch_size,
        'val_dataloader.batch_size': 256,
        'test_dataloader.batch_size': 256,
        'val_evaluator': dict(type='LongTailMAP', topk=(1,)),
        'test_evaluator': dict(type='LongTailMAP', topk=(1,)),
    }


def head_options(variant: dict) -> dict:
    """``VARIANTS`` entry -> ``MEIDHead`` keys (``loss_distill_neck_mode``
    becomes ``loss_distill.neck_mode``)."""
    out = dict(variant)
    mode = out.pop('loss_distill_neck_mode', None)
    if mode is not None:
        out['loss_distill'] = dict(type='HeadTailDistillLoss', neck_mode=mode)
    return out


def milestones(epochs: int, fractions: Sequence[float]) -> List[int]:
    """Milestone epochs (>= 1, < epochs) at ``fractions`` of a stage."""
    return sorted(
        {
            min(max(1, int(round(f * epochs))), max(epochs - 1, 1))
            for f in fractions
        }
    )


def make_arm(
    args,
    root: str,
    meta: dict,
    name: str,
    kind: str,
    epochs: int,
    head: Optional[dict] = None,
    stages=(1,),
    load_from: Optional[str] = None,
    label_mask: bool = False,
) -> Arm:
    """One arm: ``configs/nonlinear_synthetic.py`` (``kind='nonlinear'``)
    or ``configs/meid_synthetic.py`` and the overrides of the arm (the
    lr is set by ``study.build_cfg``, ``Arm.lr_keys``)."""
    ov = data_overrides(
        root, meta, args.batch_size, args.clip_len, args.test_clip_len
    )
    ov['model.cls_head.num_classes'] = int(meta['num_classes'])
    ov['model.cls_head.in_channels'] = int(meta['feat_dim'])
    ms = milestones(epochs, args.milestones)
    if kind == 'nonlinear':
        ov['train_cfg'] = dict(
            _delete_=True,
            type='EpochBasedTrainLoop',
            max_epochs=epochs,
            val_begin=epochs,
            val_interval=epochs,
        )
        ov['param_scheduler'] = [
            dict(type='MultiStepLR', by_epoch=True, milestones=ms, gamma=0.1)
        ]
        return Arm(name, 'nonlinear_synthetic.py', ov)
    # every variant key explicitly: the paper's values, then the arm's
    # (configs/meid_synthetic.py itself defaults to the recommended
    # variant)
    for key, value in PAPER_VARIANT.items():
        ov[f'model.cls_head.{key}'] = value
    ov['model.cls_head.loss_distill.neck_mode'] = 'free'
    for key, value in (head or {}).items():
        if key == 'loss_distill' and value is not None:
            for k, v in value.items():
                ov[f'model.cls_head.loss_distill.{k}'] = v
        else:
            ov.pop(f'model.cls_head.{key}.neck_mode', None)
            ov[f'model.cls_head.{key}'] = value
    stage = dict(max_epochs=epochs, milestones=ms)
    sampler = dict(type='ClassBalancedSampler', label_mask=bool(label_mask))
    ov['train_cfg'] = dict(
        _delete_=True,
        type='TwoStageTrainLoop',
        stages=tuple(stages),
        stage1=dict(stage),
        stage2=dict(stage, sampler=sampler),
        val_begin=10**6,
        val_interval=10**6,
    )
    ov['load_from'] = load_from
    return Arm(
        name,
        'meid_synthetic.py',
        ov,
        lr_keys=(LR_KEY, 'train_cfg.stage1.lr', 'train_cfg.stage2.lr'),
    )


# ----------------------------------------------------------------------
# direct scoring from a trained head (mixing weights, diagnostics)
class SplitFrames:
    """A split's test-time frames ``[V, N, D]``, targets and lengths."""

    def __init__(self, dataset, clip_len: int) -> None:
        from meid_mmaction.datasets.transforms.sampling import (
            uniform_frame_indices,
        )

        self.ids = [
            dataset.get_data_info(i)['video_id'] for i in range(len(dataset))
        ]
        feat_root = dataset.data_prefix['feat']
        bank = [
            np.ascontiguousarray(
                np.load(osp.join(feat_root, f'{v}.npy')), dtype=np.float32
            )
            for v in self.ids
        ]
        self.x = torch.from_numpy(
            np.stack(
                [b[uniform_frame_indices(b.shape[0], clip_len)] for b in bank]
            )
        )
        self.full = bank
        c = dataset.num_classes
        self.targets = torch.zeros(len(bank), c)
        for i, lab in enumerate(dataset.get_label_lists()):
            self.targets[i, lab] = 1.0


@torch.no_grad()
def expert_logits(head, x: torch.Tensor):
    """``(Y, Y_F)`` ``[V, C]`` of a head (``Y_F`` None in stage 1)."""
    head.eval()
    ys, yfs = [], []
    for i in range(0, len(x), 512):
        y, y_f = head.forward_experts(x[i : i + 512])
        ys.append(y)
        yfs.append(y_f)
    return torch.cat(ys), (None if yfs[0] is None else torch.cat(yfs))


def map_groups(scores, targets, groups) -> Dict[str, float]:
    from meid_mmaction.evaluation.functional.average_precision import (
        average_precision,
        mean_ap,
    )

    ap = average_precision(scores, targets)
    out = dict(overall=mean_ap(ap))
    for g in GROUPS:
        out[g] = mean_ap(ap, groups[g])
    return out


def read_segments(root: str, split: str, ids: List[str]):
    """``(row, class, start, length)`` of a split from ``segments.csv``."""
    path = osp.join(root, 'segments.csv')
    if not osp.isfile(path):
        return None
    row_of = {v: i for i, v in enumerate(ids)}
    out = []
    with open(path, encoding='utf-8', newline='') as f:
        for rec in csv.DictReader(f):
            if rec['split'] == split and rec['video_id'] in row_of:
                out.append(
                    (
                        row_of[rec['video_id']],
                        int(rec['class']),
                        int(rec['start']),
                        int(rec['length']),
                    )
                )
    return out


@torch.no_grad()
def cfs_shares(head, frames: SplitFrames, segments, groups) -> dict:
    """Mean share of the pooling weight on each group's segment frames
    (all frames of each video): uniform, expert 1's ``A`` and expert 2's
    ``R`` (with the head's CFS options)."""
    from meid_mmaction.models.heads.meid_modules import (
        complementary_weights,
    )

    head.eval()
    group_of = {c: g for g, idx in groups.items() for c in idx}
    e2 = head.expert2
    out = {k: {g: [] for g in GROUPS} for k in ('uniform', 'A', 'R')}
    weights = []
    for b in frames.full:
        x = torch.from_numpy(b)[None]
        a = head.expert1.forward_with_weights(x)[1]
        w = dict(uniform=torch.ones_like(a), A=a)
        if hasattr(e2, 'cfs_norm'):
            w['R'] = complementary_weights(
                a, e2.beta, e2.cfs_norm, background_thr=e2.cfs_background_thr
            )
        weights.append({k: v[0].double() for k, v in w.items()})
    for row, c, start, length in segments:
        for k, w in weights[row].items():
            out[k][group_of[c]].append(
                float(w[start : start + length].sum() / w.sum())
            )
    return {
        k: {g: float(np.mean(v)) for g, v in d.items() if v}
        for k, d in out.items()
        if any(d.values())
    }


def variance_ratio(logits: torch.Tensor, groups) -> float:
    """``mean_{c in head} Var_b(Y_c) / mean_{c in tail} Var_b(Y_c)``."""
    var = logits.double().var(dim=0, unbiased=False)
    return float(var[groups['head']].mean() / var[groups['tail']].mean())


# ----------------------------------------------------------------------
# the study
def generate(args, preset: str, root: str) -> dict:
    """Generate (once) the data of ``preset`` into ``root``."""
    if not osp.isfile(osp.join(root, 'meta.json')):
        from meid_datatools.synthetic import (
            generate_synthetic_lt,
        )

        kwargs = {}
        if preset == 'charades':
            kwargs['charades_dir'] = args.charades_dir
        generate_synthetic_lt(
            root, preset=preset, seed=args.data_seed, **kwargs
        )
    with open(osp.join(root, 'meta.json'), encoding='utf-8') as f:
        return json.load(f)


class Study:
    """Runs the arms of one preset and seed and appends JSON records."""

    def __init__(self, args, preset: str, root: str, meta: dict) -> None:
        self.args, self.preset, self.root, self.meta = args, preset, root, meta
        self.frames = {}

    def record(self, rec: dict) -> None:
        rec.update(preset=self.preset, data_seed=self.args.data_seed)
        t = rec.get('test', {})
        v = rec.get('val', {})
        print(
            f'[{self.preset}] seed {rec["seed"]} {rec["arm"]:22s} '
            f'val {v.get("overall", float("nan")):.3f}/'
            f'{v.get("tail", float("nan")):.3f}  test '
            + ' '.join(
                f'{t.get(g, float("nan")):.3f}' for g in ('overall',) + GROUPS
            )
            + f'  ({rec["seconds"]:.0f} s)',
            flush=True,
        )
        if self.args.out_json:
            with open(self.args.out_json, 'a', encoding='utf-8') as f:
                f.write(json.dumps(rec) + '\n')

    def split_frames(self, runner, split: str) -> SplitFrames:
        if split not in self.frames:
            loader = (
                runner.val_dataloader
                if split == 'val'
                else runner.test_dataloader
            )
            self.frames[split] = SplitFrames(
                loader.dataset, self.args.test_clip_len
            )
        return self.frames[split]

    def extras(self, runner, rec: dict, diagnose: bool) -> None:
        """Mixture scores and diagnostics from the trained head."""
        args = self.args
        head = runner.model.cls_head
        groups = runner.train_dataloader.dataset.metainfo['class_groups']
        mix = {}
        for split in ('val', 'test'):
            fr = self.split_frames(runner, split)
            y, y_f = expert_logits(head, fr.x)
            if split == 'test' and diagnose:
                rec['var_ratio_Y'] = variance_ratio(y, groups)
                if y_f is not None:
                    rec['var_ratio_YF'] = variance_ratio(y_f, groups)
            if y_f is None or not args.mix_weights:
                continue
            for w in args.mix_weights:
                p = w * torch.sigmoid(y) + (1 - w) * torch.sigmoid(y_f)
                mix.setdefault(f'{w:g}', {})[split] = map_groups(
                    p, fr.targets, groups
                )
            mix.setdefault('sum', {})[split] = map_groups(
                torch.sigmoid(y + y_f), fr.targets, groups
            )
            mix.setdefault('e1', {})[split] = map_groups(
                torch.sigmoid(y), fr.targets, groups
            )
        if mix and getattr(head, 'combination_mode', None):
            self.auto_choices(head, groups, mix)
        if mix:
            rec['mix'] = mix
        if diagnose and head.stage == 2 and hasattr(head.expert2, 'cfs_norm'):
            fr = self.split_frames(runner, 'test')
            segs = read_segments(self.root, 'test', fr.ids)
            if segs:
                rec['cfs_share'] = cfs_shares(head, fr, segs, groups)

    def auto_choices(self, head, groups, mix: dict) -> None:
        """Post-hoc ``'auto'`` and ``'auto_group'`` choices (validation
        logits of this tool's frames) scored on both splits, as ``mix``
        entries ``auto`` / ``auto_group`` (the arm itself is scored by the
        runner with the hook's choice)."""
        from meid_mmaction.engine.hooks.expert_combination_hook import (
            choose_for_head,
        )

        logits = {}
        for split in ('val', 'test'):
            fr = self.frames[split]
            y, y_f = expert_logits(head, fr.x)
            logits[split] = (y[:, None], y_f[:, None], fr.targets)
        y, y_f, targets = logits['val']
        for key, per_group in (('auto', False), ('auto_group', True)):
            choice = choose_for_head(
                head, y, y_f, targets, groups, per_group=per_group
            )
            for split, (ys, yfs, tg) in logits.items():
                scores = head.combination_scores(
                    ys, yfs, choice.form, choice.value
                )
                mix.setdefault(key, {})[split] = map_groups(scores, tg, groups)

    def arm(
        self,
        name: str,
        seed: int,
        kind: str,
        epochs: int,
        lr: float,
        head=None,
        stages=(1,),
        load_from=None,
        save=None,
    ) -> None:
        args = self.args
        work = osp.join(args.work_dir, self.preset, f'seed{seed}', name)
        head = dict(head or {})
        mask = bool(head.pop('label_mask', False))
        spec = make_arm(
            args,
            self.root,
            self.meta,
            name,
            kind,
            epochs,
            head=head,
            stages=stages,
            load_from=load_from,
            label_mask=mask,
        )
        rec = dict(arm=name, seed=seed, epochs=epochs, lr=lr, head=head)
        rec['label_mask'] = mask

        def inspect(runner):
            if save:
                runner.save_checkpoint(
                    osp.dirname(save),
                    osp.basename(save),
                    save_param_scheduler=False,
                )
            if kind != 'nonlinear':
                diagnose = args.diagnose and (
                    seed == args.seeds[0] or args.diagnose_all
                )
                self.extras(runner, rec, diagnose)

        res = run_cfg(build_cfg(spec, seed, lr, work), inspect)
        rec.update(
            val=group_map(res['val']),
            test=group_map(res['test']),
            seconds=res['seconds'],
        )
        self.record(rec)

    def run_seed(
        self, seed: int, arms: Sequence[str], betas: Sequence[float] = ()
    ) -> None:
        """Run ``arms`` (and the beta sweep) for one seed. The shared
        stage-1 checkpoint of the stage-2 arms is trained once per seed
        (arm ``e1@E``) and reused by later calls."""
        args = self.args
        e = args.epochs
        lrs = args.lrs
        for arm in arms:
            if arm == 'nonlinear':
                self.arm(arm, seed, 'nonlinear', 2 * e, lrs['nonlinear'])
            elif arm == 'e1_plain':
                self.arm(
                    arm,
                    seed,
                    'meid',
                    2 * e,
                    lrs['e1'],
                    head=dict(use_attention=False, loss_distill=None),
                )
            elif arm == 'e1_nodistill':
                self.arm(
                    arm,
                    seed,
                    'meid',
                    2 * e,
                    lrs['e1'],
                    head=dict(loss_distill=None),
                )
            elif arm == 'e1':
                self.arm(arm, seed, 'meid', 2 * e, lrs['e1'])
        stage2 = [a for a in arms if a == 'e1+e1' or a.startswith('meid:')]
        if not stage2 and not betas:
            return
        ckpt = osp.join(
            args.work_dir, self.preset, f'seed{seed}', 'stage1.pth'
        )
        if not osp.isfile(ckpt):
            self.arm('e1@E', seed, 'meid', e, lrs['e1'], save=ckpt)
        for arm in stage2:
            if arm == 'e1+e1':
                head = dict(expert2='attention')
            else:
                head = parse_variant(arm)
            self.arm(
                arm,
                seed,
                'meid',
                args.epochs2 or e,
                lrs['s2'],
                head=head,
                stages=(2,),
                load_from=ckpt,
            )
        base = args.beta_variant
        e2 = args.epochs2 or e
        for b in betas:
            head = dict(parse_variant(f'meid:{base}'), beta=b)
            self.arm(
                f'meid:{base}@beta={b:g}',
                seed,
                'meid',
                e2,
                lrs['s2'],
                head=head,
                stages=(2,),
                load_from=ckpt,
            )


def parse_variant(arm: str) -> dict:
    """``'meid:a+b'`` -> merged ``MEIDHead`` options of variants a, b."""
    names = arm.split(':', 1)[1].split('+')
    out = {}
    for n in names:
        if n not in VARIANTS:
            raise ValueError(
                f'unknown MEID variant {n!r} in {arm!r}; '
                f'expected some of {sorted(VARIANTS)}'
            )
        out.update(VARIANTS[n])
    return head_options(out)


# ----------------------------------------------------------------------
# summary of a results file
def _ms(values) -> str:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 1:
        return f'{arr[0]:.3f}'
    return f'{arr.mean():.3f} ± {arr.std(ddof=1):.3f}'


def load_records(paths, by_lr: bool = False) -> List[dict]:
    """Records of one or more JSON-lines results files (later duplicates
    win; with ``by_lr`` runs of an arm at different learning rates are
    kept apart)."""
    recs = {}
    for path in [paths] if isinstance(paths, str) else paths:
        with open(path, encoding='utf-8') as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    key = (r['preset'], r['seed'], r['arm'])
                    setting = (r['lr'], r['epochs']) if by_lr else ()
                    recs[key + setting] = r
    return list(recs.values())


def choose_lrs(recs: List[dict], seed: int = 0):
    """Per preset and arm (a post-hoc scoring ``<arm>|<tag>`` counting as
    an arm of its own): the setting ``(lr, epochs)`` of the best validation
    overall mAP of seed ``seed`` (ties: the smaller lr, then the fewer
    epochs), and the records of every seed at that setting.

    Returns:
        tuple: ``(records, {(preset, arm): (lr, epochs)})``.
    """
    best = {}
    for r in recs:
        if r['seed'] == seed:
            key = (r['preset'], r['arm'])
            cand = (-r['val']['overall'], r['lr'], r['epochs'])
            if key not in best or cand < best[key]:
                best[key] = cand
    chosen = {k: v[1:] for k, v in best.items()}
    kept = [
        r
        for r in recs
        if chosen.get((r['preset'], r['arm'])) == (r['lr'], r['epochs'])
    ]
    return kept, chosen


def expand_mixtures(recs: List[dict]) -> List[dict]:
    """Add the post-hoc inference variants of every MEID arm as arms
    ``<arm>|mix=<w>`` and ``<arm>|sum`` (same training run)."""
    out = list(recs)
    for r in recs:
        for key, scores in (r.get('mix') or {}).items():
            tag = (
                key
                if key in ('sum', 'e1', 'auto', 'auto_group')
                else (f'mix={key}')
            )
            rec = {
                k: v
                for k, v in r.items()
                if k not in ('mix', 'cfs_share', 'var_ratio_Y', 'var_ratio_YF')
            }
            out.append(
                dict(
                    rec,
                    arm=f'{r["arm"]}|{tag}',
                    val=scores['val'],
                    test=scores['test'],
                )
            )
    return out


def display(arm: str) -> str:
    """Arm name for a markdown cell: ``a|mix=0.5`` -> ``a [mix=0.5]``."""
    name, _, tag = arm.partition('|')
    return f'{name} [{tag}]' if tag else name


def summarize(paths, split: str = 'test', select_lr: bool = False) -> str:
    """Markdown tables (mean ± std over seeds) per preset; with
    ``select_lr`` each arm and scoring at its :func:`choose_lrs` rate."""
    recs = expand_mixtures(load_records(paths, by_lr=select_lr))
    chosen = {}
    if select_lr:
        recs, chosen = choose_lrs(recs)
    lines = []
    for preset in sorted({r['preset'] for r in recs}):
        rows = {}
        for r in recs:
            if r['preset'] == preset:
                rows.setdefault(r['arm'], []).append(r)
        lines += [
            '',
            f'#### {preset} ({split} mAP)',
            '',
            '| arm | '
            + ('lr (epochs) | ' if select_lr else '')
            + 'seeds | overall | head | medium | tail |',
            '|---|---|---|---|---|---|' + ('---|' if select_lr else ''),
        ]
        for arm in sorted(rows, key=lambda a: (a.count('|'), a)):
            runs = rows[arm]
            settings = sorted({(x['lr'], x['epochs']) for x in runs})
            lr_cell = (
                '**'
                + ', '.join(f'{lr:g} ({ep} ep)' for lr, ep in settings)
                + '** | '
                if select_lr
                else ''
            )
            lines.append(
                f'| {display(arm)} | '
                + lr_cell
                + f'{len(runs)} | '
                + ' | '.join(
                    _ms([x[split][g] for x in runs])
                    for g in ('overall',) + GROUPS
                )
                + ' |'
            )
        diag = [
            r
            for r in rows.get('e1', []) + rows.get('e1_nodistill', [])
            if 'var_ratio_Y' in r
        ]
        for r in sorted(diag, key=lambda x: (x['arm'], x['seed'])):
            lines.append(
                f'\n{r["arm"]} seed {r["seed"]}: Var_head / '
                f'Var_tail of Y {r["var_ratio_Y"]:.2f}'
            )
        for arm in sorted(rows):
            d = [r for r in rows[arm] if 'cfs_share' in r]
            if d:
                cs = d[0]['cfs_share']
                lines.append(
                    f'\n{arm} (seed {d[0]["seed"]}): weight share on tail '
                    'frames uniform / A / R '
                    + ' / '.join(
                        f'{cs[k]["tail"]:.3f}'
                        for k in ('uniform', 'A', 'R')
                        if k in cs and 'tail' in cs[k]
                    )
                    + '; on head frames '
                    + ' / '.join(
                        f'{cs[k]["head"]:.3f}'
                        for k in ('uniform', 'A', 'R')
                        if k in cs and 'head' in cs[k]
                    )
                    + (
                        f'; Var_head / Var_tail of Y_F '
                        f'{d[0]["var_ratio_YF"]:.2f}'
                        if 'var_ratio_YF' in d[0]
                        else ''
                    )
                )
    return '\n'.join(lines)


def select(path: str, min_seeds: int = 3) -> str:
    """Choose the MEID variant on VALIDATION and check it on test.

    Candidates: every ``meid:*`` arm (with its post-hoc inference
    variants) that has ``min_seeds`` seeds on every preset. Score: the
    validation overall mAP, averaged over seeds, then over presets (tail
    mAP breaks ties). The chosen variant is then compared on TEST with
    ``e1`` and ``e1+e1``: the difference of the seed means and whether it
    exceeds one seed standard deviation (the larger of the two arms').
    """
    recs = expand_mixtures(load_records(path))
    presets = sorted({r['preset'] for r in recs})
    by = {}
    for r in recs:
        by.setdefault((r['arm'], r['preset']), []).append(r)

    def mean(arm, preset, split, group):
        return float(np.mean([x[split][group] for x in by[(arm, preset)]]))

    cands = sorted(
        {
            r['arm']
            for r in recs
            if r['arm'].startswith('meid:') and '@beta' not in r['arm']
        }
    )
    cands = [
        a
        for a in cands
        if all(len(by.get((a, p), [])) >= min_seeds for p in presets)
    ]
    if not cands:
        return f'no MEID arm has {min_seeds} seeds on every preset'
    score = {
        a: (
            np.mean([mean(a, p, 'val', 'overall') for p in presets]),
            np.mean([mean(a, p, 'val', 'tail') for p in presets]),
        )
        for a in cands
    }
    ranked = sorted(cands, key=lambda a: score[a], reverse=True)
    lines = [
        'validation mAP overall / tail, mean over seeds and presets '
        f'({", ".join(presets)}):'
    ]
    lines += [f'  {a}: {score[a][0]:.3f} / {score[a][1]:.3f}' for a in ranked]
    best = ranked[0]
    lines += [
        '',
        f'chosen on validation: {best}',
        '',
        '| preset | group | chosen (test) | vs e1 | vs e1+e1 |',
        '|---|---|---|---|---|',
    ]
    for p in presets:
        for g in ('overall', 'tail'):
            chosen = [x['test'][g] for x in by[(best, p)]]
            cells = [_ms(chosen)]
            for ref in ('e1', 'e1+e1'):
                other = [x['test'][g] for x in by.get((ref, p), [])]
                if len(other) < 2 or len(chosen) < 2:
                    cells.append('n/a')
                    continue
                diff = np.mean(chosen) - np.mean(other)
                std = max(np.std(chosen, ddof=1), np.std(other, ddof=1))
                cells.append(
                    f'{diff:+.3f} ({"> " if diff > std else "<= "}'
                    f'std {std:.3f})'
                )
            lines.append(f'| {p} | {g} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('work_dir', help='data and runs go below it')
    p.add_argument(
        '--summarize',
        metavar='RESULTS',
        nargs='+',
        help='only print tables of results files (JSON lines) and exit',
    )
    p.add_argument(
        '--select-lr',
        action='store_true',
        help='with --summarize: per preset and arm (each post-hoc scoring '
        'apart) keep the lr and length of the best seed-0 validation '
        'overall mAP (ties: the smaller lr, then the shorter), all seeds '
        'at it',
    )
    p.add_argument(
        '--split',
        default='test',
        choices=('val', 'test'),
        help='split of the --summarize tables',
    )
    p.add_argument(
        '--select',
        action='store_true',
        help='with --summarize: choose the MEID variant on '
        'validation and compare it with e1 and e1+e1 on test',
    )
    p.add_argument(
        '--presets',
        nargs='+',
        default=['premise'],
        help='generator presets (data generated once into '
        'work_dir/data/<preset>)',
    )
    p.add_argument(
        '--charades-dir',
        default=None,
        help="Charades CSV directory (preset 'charades')",
    )
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument(
        '--arms',
        nargs='+',
        default=[
            'nonlinear',
            'e1_plain',
            'e1_nodistill',
            'e1',
            'e1+e1',
            'meid:paper',
            'meid:release',
        ],
    )
    p.add_argument(
        '--first-seed-arms',
        nargs='*',
        default=[],
        help='more arms, run on the first seed only',
    )
    p.add_argument(
        '--epochs',
        type=int,
        default=8,
        help='E: epochs per stage; single-stage arms get 2 E',
    )
    p.add_argument(
        '--epochs2',
        type=int,
        default=None,
        help='epochs of the stage-2 arms (default E; stage 1 stays E)',
    )
    p.add_argument(
        '--lr',
        nargs='*',
        default=[],
        metavar='KEY=LR',
        help='learning rates: nonlinear, e1 (single-stage '
        'expert-1 arms and stage 1), s2 (stage 2); defaults '
        'nonlinear=0.03, e1=0.01, s2=0.01',
    )
    p.add_argument('--milestones', type=float, nargs='+', default=[0.6, 0.8])
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--clip-len', type=int, default=24)
    p.add_argument('--test-clip-len', type=int, default=48)
    p.add_argument('--betas', type=float, nargs='*', default=[])
    p.add_argument('--beta-variant', default='paper')
    p.add_argument('--betas-all-seeds', action='store_true')
    p.add_argument(
        '--mix-weights', type=float, nargs='*', default=[0.25, 0.5, 0.75]
    )
    p.add_argument('--diagnose', action='store_true')
    p.add_argument(
        '--diagnose-all',
        action='store_true',
        help='diagnostics on every seed, not just the first',
    )
    p.add_argument('--threads', type=int, default=1)
    p.add_argument(
        '--out-json',
        default=None,
        help='JSON-lines file; one record per arm, appended',
    )
    args = p.parse_args(argv)
    lrs = dict(nonlinear=0.03, e1=0.01, s2=0.01)
    for item in args.lr:
        key, sep, value = item.partition('=')
        if not sep or key not in lrs:
            p.error(
                f'--lr expects KEY=LR with KEY in {sorted(lrs)}, got {item!r}'
            )
        lrs[key] = float(value)
    args.lrs = lrs
    for arm in args.arms + args.first_seed_arms:
        if arm.startswith('meid:'):
            try:
                parse_variant(arm)
            except ValueError as err:
                p.error(str(err))
        elif arm not in (
            'nonlinear',
            'e1_plain',
            'e1_nodistill',
            'e1',
            'e1+e1',
        ):
            p.error(f'unknown arm {arm!r}')
    if 'charades' in args.presets and not args.charades_dir:
        p.error("preset 'charades' needs --charades-dir")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.summarize:
        print(
            select(args.summarize)
            if args.select
            else summarize(args.summarize, args.split, args.select_lr)
        )
        return 0
    torch.set_num_threads(args.threads)
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import meid_mmaction  # noqa: F401

    init_default_scope('mmaction')
    logging.getLogger().setLevel(logging.WARNING)
    MMLogger.get_instance('mmengine').setLevel(logging.WARNING)
    os.makedirs(args.work_dir, exist_ok=True)
    tic = time.perf_counter()
    studies = []
    for preset in args.presets:
        root = osp.join(args.work_dir, 'data', preset)
        studies.append(Study(args, preset, root, generate(args, preset, root)))
    # seeds outer, then the first seed's extra arms: a study stopped early
    # has the main arms of every preset at the first seeds
    for seed in args.seeds:
        for study in studies:
            study.run_seed(
                seed, args.arms, args.betas if args.betas_all_seeds else ()
            )
    for study in studies:
        study.run_seed(
            args.seeds[0],
            [a for a in args.first_seed_arms if a not in args.arms],
            () if args.betas_all_seeds else args.betas,
        )
    print(f'wall time {time.perf_counter() - tic:.0f} s', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
