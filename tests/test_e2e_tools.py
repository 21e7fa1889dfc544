"""End to end through ``tools/train.py`` and ``tools/test.py`` on tiny
synthetic data: train, test the checkpoint (with a prediction dump), resume.
"""

import glob
import os
import os.path as osp
import pickle

import pytest

from meid_datatools.synthetic import generate_synthetic_lt

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))


def _run(run_script, args, cwd):
    # a process of its own, forked from the session's fork server (the
    # package imported once); a fresh interpreter runs the tools in
    # test_dist_tools.py and test_import_warnings.py
    proc = run_script(args, cwd=cwd, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    generate_synthetic_lt(str(root), preset='tiny', seed=0)
    return str(root)


def test_train_test_resume(tiny_data, tmp_path, tiny_cfg_options, run_script):
    config = osp.join(REPO, 'configs', 'nonlinear_synthetic.py')
    work_dir = str(tmp_path / 'work')
    common = [
        '--work-dir',
        work_dir,
        '--cfg-options',
        *tiny_cfg_options(tiny_data),
    ]

    out = _run(
        run_script,
        [
            'tools/train.py',
            config,
            *common,
            'train_cfg.max_epochs=2',
            'train_cfg.val_interval=1',
        ],
        cwd=REPO,
    )
    assert 'lt/mAP' in out
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    best = [f for f in os.listdir(work_dir) if f.startswith('best_lt_mAP')]
    assert best, os.listdir(work_dir)
    # one per-class CSV per validation, named by list and epoch
    csvs = sorted(
        osp.basename(p)
        for p in glob.glob(osp.join(work_dir, '*', 'per_class_ap_*.csv'))
    )
    assert csvs == [
        'per_class_ap_validate_epoch_1.csv',
        'per_class_ap_validate_epoch_2.csv',
    ], csvs
    assert '| group  | classes | evaluated | no positive |' in out

    with open(osp.join(work_dir, 'nonlinear_synthetic.py')) as f:
        train_dump = f.read()
    assert 'max_epochs=2' in train_dump

    dump = str(tmp_path / 'preds.pkl')
    # 'last': the work dir's last_checkpoint (epoch_2.pth)
    out = _run(
        run_script,
        [
            'tools/test.py',
            config,
            'last',
            '--dump',
            dump,
            *common,
            'train_cfg.max_epochs=12',
        ],
        cwd=REPO,
    )
    assert f'Test results: test split ({tiny_data}/test.lst)\n' in out, out[
        -2000:
    ]
    pngs = glob.glob(osp.join(work_dir, '*', 'per_class_ap_test_epoch_2.png'))
    assert len(pngs) == 1, out[-2000:]
    assert osp.isfile(pngs[0][:-4] + '.csv')
    # the same plot from the prediction dump, through the analysis tool
    plot_out = _run(
        run_script,
        [
            'tools/analysis/plot_per_class_ap.py',
            dump,
            '--count-file',
            osp.join(tiny_data, 'count-labels-train.lst'),
            '--head-thr',
            '30',
            '--tail-thr',
            '5',
        ],
        cwd=REPO,
    )
    assert osp.isfile(str(tmp_path / 'preds.png'))
    with open(str(tmp_path / 'preds_per_class_ap.csv')) as f:
        from_dump = f.read()
    with open(pngs[0][:-4] + '.csv') as f:
        assert f.read() == from_dump  # same APs as the test run
    assert '| group  | classes | with AP |' in plot_out
    assert f"load_from = '{osp.join(work_dir, 'epoch_2.pth')}'" in out
    # the training run's config dump is intact; the test run's is beside it
    with open(osp.join(work_dir, 'nonlinear_synthetic.py')) as f:
        assert f.read() == train_dump
    with open(osp.join(work_dir, 'nonlinear_synthetic_test.py')) as f:
        assert 'max_epochs=12' in f.read()
    for key in ('lt/mAP', 'lt/mAP_head', 'lt/mAP_medium', 'lt/mAP_tail'):
        assert key in out
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    num_test = sum(
        1 for line in open(osp.join(tiny_data, 'test.lst')) if line.strip()
    )
    assert len(preds) == num_test

    out = _run(
        run_script,
        [
            'tools/train.py',
            config,
            '--resume',
            *common,
            'train_cfg.max_epochs=3',
        ],
        cwd=REPO,
    )
    assert 'resumed epoch: 2' in out
    assert osp.isfile(osp.join(work_dir, 'epoch_3.pth'))
