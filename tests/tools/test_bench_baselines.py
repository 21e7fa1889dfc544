"""The baselines benchmark: shipped configs through the study harness."""

import importlib
import json
import os
import os.path as osp
import sys
import time

import pytest
from mmengine.config import Config

ROOT = osp.join(osp.dirname(__file__), '..', '..')
BENCH = osp.abspath(osp.join(ROOT, 'tools', 'benchmark'))
COLLECT = osp.abspath(osp.join(ROOT, 'tools', 'analysis'))


def _import(directory, name):
    """A tool module, imported as the tool's own directory sees it."""
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return importlib.import_module(name)


@pytest.fixture(scope='module')
def study(tmp_path_factory, tiny_bench_data):
    """One study (1 arm, 2 lrs, 2 seeds, 2 epochs) shared by the tests."""
    tmp = tmp_path_factory.mktemp('bench_baselines')
    data = tiny_bench_data(tmp / 'data')
    out = str(tmp / 'r.jsonl')
    tool = _import(BENCH, 'bench_baselines')
    argv = [
        data,
        '--arms',
        'cbs',
        '--epochs',
        '2',
        '--lrs',
        '0.1',
        '0.3',
        '--seeds',
        '0',
        '1',
        '--work-dir',
        str(tmp / 'wd'),
        '--out',
        out,
    ]
    # every run starts in the same second (mmengine's logger name): each
    # must still log into its own work_dir
    frozen = time.localtime()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(time, 'localtime', lambda *_: frozen)
        assert tool.main(argv) == 0
    with open(out) as f:
        recs = [json.loads(line) for line in f]
    return dict(tool=tool, data=data, out=out, recs=recs, argv=argv)


def test_shipped_config_with_data_and_schedule_overrides(study):
    recs = study['recs']
    # seed 0 at both lrs, then seed 1 at the lr chosen on validation
    assert [(r['arm'], r['seed'], r['lr']) for r in recs[:2]] == [
        ('cbs', 0, 0.1),
        ('cbs', 0, 0.3),
    ]
    best = max(recs[:2], key=lambda r: r['val']['overall'])
    assert [(r['arm'], r['seed'], r['lr']) for r in recs[2:]] == [
        ('cbs', 1, best['lr'])
    ]
    assert recs[0]['config'] == 'baselines/cbs_nonlinear_videolt_r101.py'
    ov = recs[0]['overrides']
    assert ov['num_classes'] == 6 and ov['feat_dim'] == 8
    assert ov['dataset_type'] == 'MultiLabelFeatureDataset'
    # the method keys are not overridden: they come from the shipped file
    assert not any('sampler' in k or 'loss_cls' in k for k in ov)
    # LDAM-DRW: the 100-epoch schedule scaled to 12 epochs: milestones
    # 30 / 60 -> 4 / 7, drw_epoch 50 -> 6
    ldam = study['tool'].make_arms(['ldam_drw'], study['data'], 12)[0]
    assert ldam.overrides['model.cls_head.loss_cls.drw_epoch'] == 6
    assert ldam.overrides['param_scheduler'][0]['milestones'] == [4, 7]
    assert ldam.config == 'baselines/ldam_drw_nonlinear_videolt_r101.py'


def test_each_run_logs_into_its_own_work_dir(study):
    wd = osp.join(osp.dirname(study['out']), 'wd', 'cbs')
    for rec in study['recs']:
        run = osp.join(wd, f'lr{rec["lr"]:g}_seed{rec["seed"]}')
        (stamp,) = [d for d in os.listdir(run) if d[:2] == '20']
        with open(osp.join(run, stamp, f'{stamp}.log')) as f:
            text = f.read()
        # the model's initialisation, logged once per run (QUIET logs
        # little else)
        assert text.count('cls_head.fc2.bias - torch.Size([6])') == 1, run


def test_the_run_config_is_the_shipped_method(study):
    study_mod = _import(BENCH, 'study')
    arm = study['tool'].make_arms(['cbs'], study['data'], 2)[0]
    cfg = study_mod.build_cfg(arm, 0, 0.1, '/nonexistent')
    shipped = Config.fromfile(
        osp.join(ROOT, 'configs', 'baselines', 'cbs_nonlinear_videolt_r101.py')
    )
    assert cfg.train_dataloader.sampler == shipped.train_dataloader.sampler
    assert cfg.model.cls_head.loss_cls == shipped.model.cls_head.loss_cls
    assert cfg.optim_wrapper.clip_grad == shipped.optim_wrapper.clip_grad
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=0.1)
    assert cfg.train_dataloader.dataset.feature_bank == dict(
        device='cpu', dtype='float32'
    )
    assert cfg.randomness.seed == 0


def test_rerun_reuses_the_records_and_table(study, capsys):
    # a second call finds every run in the results file: nothing new
    assert study['tool'].main(study['argv']) == 0
    with open(study['out']) as f:
        assert len(f.readlines()) == len(study['recs'])
    # the same file with other settings (another epoch count) is refused
    argv = list(study['argv'])
    argv[argv.index('--epochs') + 1] = '3'
    with pytest.raises(ValueError, match="already has a run of arm 'cbs'"):
        study['tool'].main(argv)
    collect = _import(COLLECT, 'collect_results')
    capsys.readouterr()
    assert collect.main(['--study', study['out']]) == 0
    text = capsys.readouterr().out
    for arm in ('cbs',):
        runs = [r for r in study['recs'] if r['arm'] == arm]
        best = max(runs[:2], key=lambda r: r['val']['overall'])
        at = [r['test']['overall'] for r in runs if r['lr'] == best['lr']]
        mean = sum(at) / 2
        std = (sum((v - mean) ** 2 for v in at)) ** 0.5  # n - 1 = 1
        assert (
            f'| {arm} | {best["lr"]:g} | {best["val"]["overall"]:.3f} | 2 | '
            f'{mean:.3f} ± {std:.3f} |'
        ) in text


def test_feature_bank_equals_the_files(study):
    # the same run reading the feature files (no bank, no workers) gives
    # the same metrics
    study_mod = _import(BENCH, 'study')
    rec = next(
        r for r in study['recs'] if r['arm'] == 'cbs' and r['lr'] == 0.1
    )
    arm = study['tool'].make_arms(['cbs'], study['data'], 2)[0]
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    cfg = study_mod.build_cfg(
        arm,
        0,
        0.1,
        osp.join(osp.dirname(study['out']), 'files'),
        feature_bank=False,
        extra={f'{k}.num_workers': 0 for k in loaders}
        | {f'{k}.persistent_workers': False for k in loaders},
    )
    assert 'feature_bank' not in cfg.train_dataloader.dataset
    res = study_mod.run_cfg(cfg)
    assert study_mod.group_map(res['val']) == rec['val']
    assert study_mod.group_map(res['test']) == rec['test']


def test_unknown_arm_and_missing_data(tmp_path):
    tool = _import(BENCH, 'bench_baselines')
    with pytest.raises(ValueError, match="unknown arm 'nope'"):
        tool.shipped_config('nope')
    with pytest.raises(FileNotFoundError, match='meta.json not found'):
        tool.make_arms(['bce'], str(tmp_path), 1)
    study_mod = _import(BENCH, 'study')
    with pytest.raises(ValueError, match='seeds must name at least one'):
        study_mod.run_study([], [], None, str(tmp_path), None)
    with pytest.raises(FileNotFoundError, match='config not found: nope.py'):
        study_mod.config_path('nope.py')
