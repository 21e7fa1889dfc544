"""The recipe table of the paper-row configs: ``docs/reproduction.md``.

For every config that names a published row, each hyperparameter as the
paper's text states it (``docs/method.md``, the project's copy of it), as
the released scripts ran it (17Skye17/VideoLT, abcdvzz/MEID, wjun0830/MOVE;
the file is named per value) and as our config resolves it
(``Config.fromfile`` + the data keys, as ``tools/train.py`` sees it), with a
reason for every difference. The paper / released values are written by
hand below (``SOURCES``); ours are read from the configs, so the table
cannot drift: ``tests/tools/test_recipe_table.py`` regenerates it and fails
when ``docs/reproduction.md`` is stale, when a difference has no reason, or
when a reason is left on a value that no longer differs.

    python tools/analysis/recipe_table.py            # rewrite the page
    python tools/analysis/recipe_table.py --check    # exit 1 when stale
"""

import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
PAGE = osp.join(ROOT, 'docs', 'reproduction.md')

#: (field key, column title), in table order.
FIELDS: Tuple[Tuple[str, str], ...] = (
    ('optimizer', 'optimizer'),
    ('lr', 'learning rate (stage 1 / stage 2)'),
    ('batch', 'batch per device x devices'),
    ('epochs', 'epochs'),
    ('lr_steps', 'lr x0.1 at epochs'),
    ('warm_epoch', 'FrameStack warm epoch'),
    ('train_frames', 'training frames'),
    ('test_frames', 'test frames'),
    ('sampler', 'sampler'),
    ('augment', 'batch augmentation'),
    ('loss', 'loss, reduction'),
    ('clip', 'gradient clipping (max norm)'),
    ('sync_bn', 'SyncBN'),
    ('aggregator', 'frame aggregation'),
    ('meid', 'MEID variant and inference'),
)
NONE = '—'  # not applicable / not stated
_RELEASED_LAYER = (
    ', released layer (BN of the assignment over frames, input BN, '
    'BatchNorm1d(1) output)'
)

# ---------------------------------------------------------------- ours


def _lr(value: float) -> str:
    mant, exp = f'{value:.0e}'.split('e')
    return f'{mant}e{int(exp)}'


def _steps(milestones) -> str:
    return ', '.join(str(int(m)) for m in milestones)


def _clip_len(loader) -> str:
    for t in loader.dataset.get('pipeline') or []:
        if t.get('type') == 'SampleFeatureFrames':
            return str(t['clip_len'])
    return NONE


def _sampler(sampler: Optional[dict]) -> str:
    kind = (sampler or {}).get('type', 'DefaultSampler')
    name = dict(
        DefaultSampler='random',
        ClassBalancedSampler='CBS',
        SquareRootSampler='SRS',
        ClassAwareSampler='class-aware',
    ).get(kind, kind)
    if (sampler or {}).get('label_mask'):
        name += ' (label mask)'
    return name


_REDUCTION = dict(
    mean='mean',
    sum='sum',
    batch_sum='sum over classes, mean over batch',
    none='none',
)


def _loss(loss: dict) -> str:
    kind = loss['type']
    if kind == 'MultiLabelFocalLoss':
        gamma = loss.get('gamma', 1.0)
        if gamma == 0:
            text = 'BCE'
        else:
            form = (
                '1 - exp(-BCE)'
                if loss.get('pt_mode', 'linear') == 'exp_bce'
                else 'linear'
            )
            text = f'focal γ={gamma:g}, 1-p_t {form}'
    elif kind == 'ClassBalancedLoss':
        text = (
            f'class-balanced BCE β={loss.get("beta", 0.9999):g}, '
            f'{loss.get("weighting", "class")} weights'
        )
    elif kind == 'LDAMLoss':
        text = (
            f'LDAM s={loss.get("scale", 30.0):g} '
            f'm={loss.get("max_margin", 0.5):g}, '
            f'DRW from epoch {loss.get("drw_epoch", 50)}'
        )
    elif kind == 'EQLLoss':
        text = (
            f'EQL {loss.get("mode")}, drop {loss.get("drop_prob"):g}, '
            'tail classes'
        )
    else:
        text = kind
    return f'{text}; {_REDUCTION[loss.get("reduction", "mean")]}'


def _aggregator(agg: dict) -> str:
    kind = agg['type']
    if kind == 'NetVLAD':
        return (
            f'NetVLAD K={agg.get("num_clusters")}, '
            f'hidden {agg.get("hidden_channels")}'
        )
    if kind == 'NeXtVLAD':
        text = (
            f'NeXtVLAD K={agg.get("num_clusters")}, '
            f'λ={agg.get("expansion")}, G={agg.get("groups")}, '
            f'hidden {agg.get("hidden_channels")}'
        )
        if (
            agg.get('assign_norm') == 'frames'
            and agg.get('input_norm')
            and agg.get('scalar_bn')
            and agg.get('assign_bias')
            and agg.get('l2_norm') is False
        ):
            text += _RELEASED_LAYER
        return text
    if kind == 'AttentionPooling':
        return (
            f'attention {agg.get("num_heads")}x{agg.get("key_channels")}'
            f', attn dropout {agg.get("attn_dropout", 0.0):g}, '
            f'LN eps {agg.get("norm_eps", 1e-5):g}'
        )
    return kind


def _augment(blending: Optional[dict]) -> str:
    if not blending:
        return 'none'
    if blending['type'] == 'FrameStack':
        return f'FrameStack, ratio {blending.get("ratio", 0.5):g}'
    if blending['type'] == 'MultiLabelMixup':
        alpha = blending.get('alpha', 1.0)
        return f'mixup, Beta({alpha:g}, {alpha:g})'
    return blending['type']


def config_values(cfg) -> Dict[str, str]:
    """Our value of every field of :data:`FIELDS` (strings), from a config
    after :func:`~meid_mmaction.utils.data_keys.apply_data_keys`."""
    head = cfg.model.cls_head
    train = cfg.train_cfg
    two_stage = train.get('type') == 'TwoStageTrainLoop'
    blending = (cfg.model.get('data_preprocessor') or {}).get('blending')
    out = dict(optimizer=cfg.optim_wrapper.optimizer.type)
    if two_stage:
        s1, s2 = train.stage1, train.stage2
        out['lr'] = f'{_lr(s1.lr)} / {_lr(s2.lr)}'
        out['epochs'] = f'{s1.max_epochs} + {s2.max_epochs}'
        out['lr_steps'] = f'{_steps(s1.milestones)} / {_steps(s2.milestones)}'
        out['sampler'] = (
            f'{_sampler(cfg.train_dataloader.get("sampler"))} / '
            f'{_sampler(s2.get("sampler"))}'
        )
    else:
        out['lr'] = _lr(cfg.optim_wrapper.optimizer.lr)
        out['epochs'] = str(train.max_epochs)
        (sched,) = cfg.param_scheduler
        out['lr_steps'] = _steps(sched.milestones)
        out['sampler'] = _sampler(cfg.train_dataloader.get('sampler'))
    out['batch'] = f'{cfg.train_dataloader.batch_size} x 1'
    out['warm_epoch'] = (
        str(blending.get('warm_epoch'))
        if blending and blending['type'] == 'FrameStack'
        else NONE
    )
    out['train_frames'] = _clip_len(cfg.train_dataloader)
    out['test_frames'] = _clip_len(cfg.test_dataloader)
    out['augment'] = _augment(blending)
    out['loss'] = _loss(head.loss_cls)
    clip = (cfg.optim_wrapper.get('clip_grad') or {}).get('max_norm')
    out['clip'] = NONE if clip is None else f'{clip:g}'
    out['sync_bn'] = cfg.get('sync_bn') or 'no'
    if head.type == 'MEIDHead':
        agg = head.get('aggregator')
        out['aggregator'] = (
            _aggregator(agg) if agg else 'attention-weighted mean'
        )
        mask = bool((train.stage2.get('sampler') or {}).get('label_mask'))
        out['meid'] = (
            f'stage2_loss={head.stage2_loss}, inference={head.inference}'
            f', stage-2 label mask {"on" if mask else "off"}'
        )
    else:
        aggs = head.get('aggregators')
        out['aggregator'] = (
            ' + '.join(_aggregator(a) for a in aggs)
            if aggs
            else 'nonlinear classifier, frame mean'
        )
        out['meid'] = NONE
    return out


# -------------------------------------------- paper text, released code
# Each value: (text, source). The sources are files of the released
# repositories (17Skye17/VideoLT, abcdvzz/MEID: meid-open-source/...,
# wjun0830/MOVE: VideoLT/...) or docs/method.md for the paper's text.
V = 'VideoLT '  # 17Skye17/VideoLT
M = 'MEID meid-open-source/'  # abcdvzz/MEID
MD = 'docs/method.md'

# VideoLT's baseline recipe (scripts/*.sh, opts.py, base_main.py,
# ops/losses.py), ResNet-101 features, one GPU.
_VIDEOLT = dict(
    optimizer=('Adam', V + 'base_main.py'),
    lr=('1e-4', V + 'scripts/{script}'),
    batch=('128 x 1', V + 'scripts/{script}'),
    epochs=('100', V + 'scripts/{script}'),
    lr_steps=('30, 60', V + 'scripts/{script}'),
    warm_epoch=(NONE, ''),
    train_frames=('60', V + 'scripts/{script}'),
    test_frames=('150', V + 'scripts/{script}'),
    sampler=('random', V + 'base_main.py'),
    augment=('none', V + 'scripts/{script}'),
    loss=('BCE; mean', V + 'ops/losses.py'),
    clip=('20', V + 'scripts/{script} (--gd 20)'),
    sync_bn=('no', V + 'base_main.py'),
    aggregator=('nonlinear classifier, frame mean', V + 'models/models.py'),
    meid=(NONE, ''),
)
_PAPER_BASELINE = dict(
    aggregator=('nonlinear classifier, frame mean', MD),
)
_FOCAL_EXP = 'focal γ=1, 1-p_t 1 - exp(-BCE); mean'


def _videolt(script: str, **changes) -> Dict[str, Tuple[str, str]]:
    out = {k: (v, s.format(script=script)) for k, (v, s) in _VIDEOLT.items()}
    out.update(changes)
    return out


_FRAMESTACK = dict(
    warm_epoch=('0', V + 'scripts/framestack.sh, dy_main.py'),
    augment=('FrameStack, ratio 0.5', V + 'scripts/framestack.sh'),
    loss=(_FOCAL_EXP, V + 'ops/losses.py, scripts/framestack.sh'),
)
_RESAMPLE_LOSS = (
    'BCE; sum over classes, mean over batch',
    V + 'base_main.py (rs_train)',
)
_RELEASED_NEXTVLAD = 'NeXtVLAD K=64, λ=2, G=8, hidden 1024' + _RELEASED_LAYER
_MEID_RELEASED_MODEL = (
    'no VLAD layer: a Twins-style transformer (NeXtVLAD imported, never built)'
)
# MEID's released VideoLT runs: stage 1 ddp_train_101.sh
# (dy_main_ddp_101.py), stage 2 ddp_train_diff.sh (dy_main_ddp_diff.py).
_MEID_VIDEOLT = dict(
    optimizer=('Adam', M + 'dy_main_ddp_101.py'),
    lr=('1e-3 / 1e-3', M + 'ddp_train_101.sh, ddp_train_diff.sh'),
    batch=(
        '256 x 6 / 128 x 8',
        M + 'ddp_train_101.sh, ddp_train_diff.sh',
    ),
    epochs=('100 + 100', M + 'ddp_train_101.sh, ddp_train_diff.sh'),
    lr_steps=('30, 60 / 30, 60', M + 'ddp_train_101.sh'),
    warm_epoch=('0', M + 'ddp_train_101.sh'),
    train_frames=('150', M + 'ddp_train_101.sh'),
    test_frames=('150', M + 'ddp_train_101.sh'),
    sampler=('random / CBS (label mask)', M + 'ddp_train_diff.sh'),
    augment=('FrameStack, ratio 0.5', M + 'dy_main_ddp_101.py'),
    loss=(_FOCAL_EXP, M + 'ops/losses.py, ddp_train_101.sh'),
    clip=('20', M + 'ddp_train_101.sh (--gd 20)'),
    sync_bn=('torch', M + 'dy_main_ddp_101.py'),
    meid=(
        'stage2_loss=expert2, inference=prob_mix, stage-2 label mask on',
        MD + ' (MEID variants)',
    ),
    aggregator=(_MEID_RELEASED_MODEL, M + 'models/trans.py'),
)
_PAPER_MEID = dict(
    optimizer=('Adam', MD),
    lr=('1e-3 / 1e-4', MD),
    batch=('128 x 1', MD),
    epochs=('100 + 100', MD),
    lr_steps=('30, 60 / 30, 60', MD),
    train_frames=('60', MD),
    test_frames=('150', MD),
    sampler=('random / CBS', MD),
    loss=('focal γ=1, 1-p_t linear; mean', MD),
    meid=(
        'stage2_loss=sum, inference=logit_sum, stage-2 label mask off',
        MD,
    ),
)
# MEID's released Charades runs: stage 1 charades_dy_101.sh, stage 2
# charades_dy.sh.
_MEID_CHARADES = dict(
    _MEID_VIDEOLT,
    lr=('1e-4 / 1e-4', M + 'charades_dy_101.sh, charades_dy.sh'),
    batch=('128 x 2 / 128 x 2', M + 'charades_dy_101.sh, charades_dy.sh'),
    epochs=('100 + 100', M + 'charades_dy_101.sh, charades_dy.sh'),
    lr_steps=('30, 60 / 30, 60', M + 'charades_dy_101.sh'),
    warm_epoch=('0', M + 'charades_dy_101.sh'),
    train_frames=('200', M + 'charades_dy_101.sh'),
    test_frames=('200', M + 'charades_dy_101.sh'),
    sampler=('random / CBS (label mask)', M + 'charades_dy.sh'),
    loss=(_FOCAL_EXP, M + 'ops/losses.py, charades_dy_101.sh'),
    clip=('20', M + 'charades_dy_101.sh (--gd 20)'),
    aggregator=(_MEID_RELEASED_MODEL, M + 'models/trans.py'),
)
_CHARADES_FRAMESTACK = dict(
    optimizer=('Adam', M + 'dy_main_ddp_ori.py'),
    lr=('1e-4', M + 'charades_framestack.sh'),
    batch=('1024 x 1', M + 'charades_framestack.sh'),
    epochs=('100', M + 'charades_framestack.sh'),
    lr_steps=('30, 60', M + 'charades_framestack.sh'),
    warm_epoch=('0', M + 'charades_framestack.sh'),
    train_frames=('200', M + 'charades_framestack.sh'),
    test_frames=('200', M + 'charades_framestack.sh'),
    sampler=('random', M + 'charades_framestack.sh'),
    augment=('FrameStack, ratio 0.5', M + 'charades_framestack.sh'),
    loss=(_FOCAL_EXP, M + 'ops/losses.py, charades_framestack.sh'),
    clip=('20', M + 'charades_framestack.sh (--gd 20)'),
    sync_bn=('no', M + 'dy_main_ddp_ori.py'),
    aggregator=(
        _RELEASED_NEXTVLAD,
        M + 'models/models.py (NeXtVLADModel)',
    ),
    meid=(NONE, ''),
)

_MEID_RELEASE_REASON = (
    "the paper's text (the row's number is the paper's); the release's "
    'value: see "MEID: the released runs" below'
)
_MEID_REASONS = dict(
    lr=_MEID_RELEASE_REASON,
    batch=_MEID_RELEASE_REASON + '; per-device batch: mmengine scales no lr',
    warm_epoch=(
        'the paper trains MEID without FrameStack; the release stacks in '
        'stage 1'
    ),
    train_frames=_MEID_RELEASE_REASON,
    sampler=_MEID_RELEASE_REASON,
    augment=(
        "the paper's text has no FrameStack in MEID; the release's: see "
        '"MEID: the released runs"'
    ),
    loss=(
        "stage 1's targets are 0 / 1 (no FrameStack): both 1-p_t forms "
        'are equal; the release form is pt_mode=exp_bce'
    ),
    sync_bn='single-device configs; add sync_bn=torch for several GPUs',
    meid=(
        "the paper's variant; the release's keys: docs/method.md, MEID "
        'variants'
    ),
    aggregator=(
        "the paper's model (its rows name the aggregator); the released "
        'MEID model (Trans_Pos_101, models/trans.py) is another '
        'architecture, and Twins_Pos_101 named by the scripts is not in '
        'the release'
    ),
)

#: config -> (published row, {field: (paper, released, reason)}) where
#: paper / released are (value, source) or None (not stated).
SOURCES: Dict[str, dict] = {}


def _row(config, row, released, paper=None, reasons=None):
    fields = {}
    for key, _ in FIELDS:
        fields[key] = dict(
            paper=(paper or {}).get(key),
            released=released.get(key),
            reason=(reasons or {}).get(key),
        )
    SOURCES[config] = dict(row=row, fields=fields)


_BASELINE_R101: Dict[str, tuple] = {}
for _name, _script, _row_name, _changes, _reasons in (
    ('bce', 'baseline.sh', 'plain BCE, 0.516', {}, {}),
    (
        'ldam_drw',
        'ldamloss.sh',
        'LDAM-DRW, 0.518',
        dict(
            loss=(
                'LDAM s=30 m=0.5, DRW from epoch 50; mean',
                V + 'ops/losses.py (LDAM)',
            )
        ),
        {},
    ),
    (
        'eql',
        'EQL.sh',
        'EQL, 0.518',
        dict(
            loss=(
                'EQL random, drop 0.00176, tail classes; mean',
                V + 'ops/losses.py (EQL)',
            )
        ),
        {},
    ),
    (
        'cbs',
        'CBS.sh',
        'class-balanced sampling, 0.507',
        dict(
            sampler=('CBS (label mask)', V + 'base_main.py, scripts/CBS.sh'),
            loss=_RESAMPLE_LOSS,
        ),
        {},
    ),
    (
        'srs',
        'SRS.sh',
        'square-root sampling, 0.516',
        dict(
            sampler=('SRS (label mask)', V + 'base_main.py, scripts/SRS.sh'),
            loss=_RESAMPLE_LOSS,
        ),
        {},
    ),
    (
        'cb_loss',
        'cbloss.sh',
        'class-balanced loss, 0.511',
        dict(
            loss=(
                'class-balanced BCE β=0.9999, class weights; mean',
                V + 'ops/losses.py (CBLoss)',
            )
        ),
        {},
    ),
    (
        'mixup',
        'mixup.sh',
        'mixup, 0.495',
        dict(augment=('mixup, Beta(1, 1)', V + 'base_main.py')),
        {},
    ),
    ('framestack', 'framestack.sh', 'FrameStack, 0.532', _FRAMESTACK, {}),
):
    _row(
        f'configs/baselines/{_name}_nonlinear_videolt_r101.py',
        f'VideoLT / ResNet-101 / {_row_name} (docs/method.md)',
        _videolt(_script, **_changes),
        _PAPER_BASELINE,
        _reasons,
    )
    _BASELINE_R101[_name] = (_script, _changes)

# ResNet-50 rows of the MEID paper's table (VideoLT's MODELZOO.md numbers):
# VideoLT's scripts with FEATURE_NAME='ResNet50'.
for _name, _row_name in (
    ('cb_loss', 'class-balanced loss, 0.495'),
    ('cbs', 'class-balanced sampling, 0.491'),
    ('eql', 'EQL, 0.502'),
    ('ldam_drw', 'LDAM-DRW, 0.502'),
    ('mixup', 'mixup, 0.484'),
):
    _script, _changes = _BASELINE_R101[_name]
    _row(
        f'configs/baselines/{_name}_nonlinear_videolt_r50.py',
        f'VideoLT / ResNet-50 / {_row_name} (MEID paper; VideoLT MODELZOO.md)',
        _videolt(_script + ' with ResNet50', **_changes),
        _PAPER_BASELINE,
    )

_row(
    'configs/baselines/framestack_nonlinear_videolt_r50.py',
    'VideoLT / ResNet-50 / FrameStack, 0.516 (docs/method.md)',
    _videolt('framestack.sh', **_FRAMESTACK),
    _PAPER_BASELINE,
)
_row(
    'configs/baselines/framestack_netvlad_videolt_r101.py',
    'VideoLT / ResNet-101 / FrameStack + NetVLAD, 0.670 (docs/method.md)',
    _videolt(
        'framestack.sh',
        aggregator=(
            'NetVLAD K=64, hidden 1024',
            V + 'models/models.py (NetVLADModel)',
        ),
        **_FRAMESTACK,
    ),
)
for _data, _name in (
    ('charadeslt', 'CharadesLT'),
    ('charadesegolt', 'CharadesEgoLT'),
):
    _row(
        f'configs/baselines/framestack_nextvlad_{_data}_r101.py',
        f'{_name} / ResNet-101 (NeXtVLAD) / FrameStack (docs/method.md)',
        _CHARADES_FRAMESTACK,
        dict(test_frames=('200', MD)),
    )
for _cfg, _row_name, _agg in (
    (
        'meid_videolt_r101.py',
        'VideoLT / ResNet-101 / MEID + NetVLAD, 0.716',
        ('NetVLAD', MD),
    ),
    (
        'meid_videolt_r50.py',
        'VideoLT / ResNet-50 / MEID, 0.619',
        ('attention-weighted mean', MD),
    ),
    (
        'meid_videolt_tsm_r50.py',
        'VideoLT / TSM-ResNet-50 / MEID, 0.695 (supplementary)',
        ('attention-weighted mean', MD),
    ),
):
    _row(
        f'configs/{_cfg}',
        _row_name + ' (docs/method.md)',
        _MEID_VIDEOLT,
        dict(_PAPER_MEID, aggregator=_agg),
        _MEID_REASONS,
    )
for _cfg, _row_name in (
    ('meid_charadeslt_r101.py', 'CharadesLT / ResNet-101 (NeXtVLAD) / MEID'),
    (
        'meid_charadesegolt_r101.py',
        'CharadesEgoLT / ResNet-101 (NeXtVLAD) / MEID',
    ),
):
    _row(
        f'configs/{_cfg}',
        _row_name + ' (docs/method.md)',
        _MEID_CHARADES,
        dict(
            _PAPER_MEID, test_frames=('200', MD), aggregator=('NeXtVLAD', MD)
        ),
        _MEID_REASONS,
    )
_MOVE = {
    k: (v, s.replace(V + 'scripts/', 'MOVE VideoLT/scripts/'))
    for k, (v, s) in _videolt('baseline_Agg.sh').items()
}
_MOVE['aggregator'] = (
    'NetVLAD K=64, hidden 1024 + attention 4x512, attn dropout 0.1, '
    'LN eps 1e-06',
    'MOVE VideoLT/models/models.py',
)
_row(
    'configs/aggregators/netvlad_attention_bce_videolt_r50.py',
    "VideoLT / ResNet-50 / MOVE's aggregator baseline, 0.676 (docs/method.md)",
    _MOVE,
)


_RELEASE_COMMON = [
    'sync_bn=torch',
    'train_cfg.stage2.sampler.label_mask=True',
    'model.cls_head.stage2_loss=expert2',
    'model.cls_head.inference=prob_mix',
    'model.cls_head.loss_cls.pt_mode=exp_bce',
    'model.data_preprocessor.blending.type=FrameStack',
    'model.data_preprocessor.blending.warm_epoch=0',
]
#: MEID config -> (devices, --cfg-options) of the released run.
RELEASED_RUNS: Dict[str, Tuple[int, List[str]]] = {}
for _cfg in ('meid_videolt_r101', 'meid_videolt_r50', 'meid_videolt_tsm_r50'):
    RELEASED_RUNS[f'configs/{_cfg}.py'] = (
        6,
        [
            'train_dataloader.batch_size=256',
            'train_clip_len=150',
            'train_cfg.stage2.lr=1e-3',
        ]
        + _RELEASE_COMMON,
    )
for _cfg in ('meid_charadeslt_r101', 'meid_charadesegolt_r101'):
    RELEASED_RUNS[f'configs/{_cfg}.py'] = (
        2,
        ['train_clip_len=200', 'train_cfg.stage1.lr=1e-4'] + _RELEASE_COMMON,
    )


def release_command(config: str) -> str:
    """The command line of the released run of a MEID config."""
    devices, options = RELEASED_RUNS[config]
    lines = [f'bash tools/dist_train.sh {config} {devices} --cfg-options']
    lines += [f'    {o}' for o in options]
    return ' \\\n'.join(lines)


def _needs_reason(ours: str, paper, released) -> bool:
    return any(ref is not None and ref[0] != ours for ref in (paper, released))


def load_values(config: str) -> Dict[str, str]:
    """Our values of one config (as ``tools/train.py`` sees it)."""
    from mmengine.config import Config

    import meid_mmaction  # noqa: F401
    from meid_mmaction.utils.data_keys import apply_data_keys

    cfg = Config.fromfile(osp.join(ROOT, config))
    apply_data_keys(cfg)
    return config_values(cfg)


def check_reasons(values: Dict[str, Dict[str, str]]) -> List[str]:
    """Problems: a difference without a reason, or a reason left on a value
    that equals both references."""
    problems = []
    for config, entry in SOURCES.items():
        for key, field in entry['fields'].items():
            ours = values[config][key]
            need = _needs_reason(ours, field['paper'], field['released'])
            if need and not field['reason']:
                problems.append(
                    f'{config}: {key} = {ours!r} differs from '
                    f'paper {field["paper"]} / released '
                    f'{field["released"]} and has no reason'
                )
            if field['reason'] and not need:
                problems.append(
                    f'{config}: {key} = {ours!r} equals the references; '
                    f'drop the stale reason {field["reason"]!r}'
                )
    return problems


def _cell(ref) -> str:
    if ref is None:
        return NONE
    value, source = ref
    return f'{value} ({source})' if source else value


HEADER = """# Reproduction: the recipe of every paper-row config

Generated by `python tools/analysis/recipe_table.py` from the configs (as
`tools/train.py` resolves them, data keys applied) and a hand-written table
of the published / released values in that tool, each with the file it comes
from: 17Skye17/VideoLT (`VideoLT ...`), abcdvzz/MEID
(`MEID meid-open-source/...`), wjun0830/MOVE (`MOVE ...`), and
`docs/method.md` (the paper's text). `tests/tools/test_recipe_table.py`
fails when this page is stale, when a difference has no reason, or when a
reason stays on a value that no longer differs. Do not edit by hand.

"Paper" is what the paper's text states (— where it states nothing);
"released" is what the authors' scripts ran. Our configs are for one device
(batch per device x 1); none has been reproduced yet (no real features, no
GPU here).

## Notes that the table refers to

**MEID: the released runs.** The MEID configs follow the paper's text
(Adam 1e-3 / 1e-4, batch 128, 60 training frames, no FrameStack, stage 2
class-balanced without label mask, `σ(Y + Y_F)`): the published rows are
the paper's, and its text is the one complete description. The released
scripts ran otherwise: VideoLT with batch 256 per GPU x 6 GPUs, SyncBN,
lr 1e-3 in both stages, all 150 frames in training and FrameStack in stage 1
(`ddp_train_101.sh`, `ddp_train_diff.sh`); CharadesLT with lr 1e-4, batch
128 x 2 GPUs and all 200 frames (`charades_dy_101.sh`, `charades_dy.sh`).
Each MEID section below ends with the command line of the released run
(tested: `tests/tools/test_recipe_table.py` applies its options and finds
the released values). The released stage 2 on VideoLT ran 128 x 8 GPUs
(`ddp_train_diff.sh`); with `tools/dist_train.sh` one device count serves
both stages, and FrameStack stacks in both, as in the release
(`dy_main_ddp_diff.py`).

**NeXtVLAD.** `NeXtVLAD` has the sizes of MEID's Charades runs
(`models/models.py`, `NeXtVLADModel`: K 64, expansion 2, 8 groups, hidden
1024). Its default layer is this project's form; the released layer is an
option set (`input_norm=True, assign_norm='frames', num_frames=200,
assign_bias=True, l2_norm=False, scalar_bn=True`: an input BatchNorm, the
assignment normalised by BatchNorm over frame *positions*, an assignment
bias, `BatchNorm1d(1)` on the descriptor instead of L2), tested against
`models/net_module.py` in `tests/test_release_formulas.py`. The Charades
FrameStack rows use it (they train and test on all 200 frames, as the
release; the frame-position BatchNorm needs a fixed clip length).
linrongc's original (BatchNorm over the assignment channels and on the
flattened descriptor, dropout 0.5, context gating) is documented in the
layer's docstring. The MEID rows keep the default layer: MEID trains on 60
frames (paper), and the released MEID model has no VLAD layer at all.

**Focal loss on soft targets.** VideoLT computes `1 - p_t` as
`1 - exp(-BCE)` (`ops/losses.py`); `MultiLabelFocalLoss(pt_mode='exp_bce')`
is that form, used by every FrameStack row. Both forms are equal on 0 / 1
targets.

"""


def render(values: Dict[str, Dict[str, str]]) -> str:
    """The whole page."""
    lines = [HEADER.rstrip('\n'), '']
    for config, entry in SOURCES.items():
        lines += [
            f'## `{config}`',
            '',
            f'Published row: {entry["row"]}.',
            '',
            '| hyperparameter | paper | released | ours | reason |',
            '|---|---|---|---|---|',
        ]
        for key, title in FIELDS:
            field = entry['fields'][key]
            lines.append(
                f'| {title} | {_cell(field["paper"])} | '
                f'{_cell(field["released"])} | {values[config][key]} | '
                f'{field["reason"] or ""} |'
            )
        lines.append('')
        if config in RELEASED_RUNS:
            lines += [
                'The released run (stage-1 batch, frames, lr, SyncBN, '
                'FrameStack, MEID variant):',
                '',
                '```bash',
                release_command(config),
                '```',
                '',
            ]
    return '\n'.join(lines)


def generate() -> Tuple[str, List[str]]:
    """The page and the reason problems (see :func:`check_reasons`)."""
    values = {config: load_values(config) for config in SOURCES}
    return render(values), check_reasons(values)


def main(argv=None) -> int:
    """Write (or ``--check``) ``docs/reproduction.md``."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--check',
        action='store_true',
        help='exit 1 when docs/reproduction.md is stale',
    )
    args = parser.parse_args(argv)
    page, problems = generate()
    if problems:
        sys.stderr.write('\n'.join(problems) + '\n')
        return 1
    if args.check:
        with open(PAGE, encoding='utf-8') as f:
            if f.read() != page:
                sys.stderr.write(
                    f'{PAGE} is stale: run tools/analysis/recipe_table.py\n'
                )
                return 1
        return 0
    with open(PAGE, 'w', encoding='utf-8') as f:
        f.write(page)
    return 0


if __name__ == '__main__':
    sys.exit(main())
