"""MMAction2's own ``tools/train.py`` / ``tools/test.py`` (the scripts the
installed mmaction ships, ``mmaction/.mim/tools``) run our configs: train
and test the synthetic configs on the 'tiny' data, and stop a child config
whose ``data_root`` did not reach the loaders before anything is trained.

One subprocess runs the scripts one after the other (``runpy``, as
``python <script> ...`` would), to pay the start-up once.
"""

import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import mmaction
import pytest

from meid_datatools.synthetic import generate_synthetic_lt

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
TOOLS = osp.join(osp.dirname(mmaction.__file__), '.mim', 'tools')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

DRIVER = textwrap.dedent("""
    import json, runpy, sys, time, traceback
    out = {}
    for name, argv in json.loads(sys.argv[1]):
        sys.argv = argv
        start = time.time()
        try:
            runpy.run_path(argv[0], run_name='__main__')
            out[name] = 'ok'
        except Exception as err:
            traceback.print_exc()
            out[name] = f'{type(err).__name__}: {err}'
        print(f'TIME {name} {time.time() - start:.1f}', file=sys.stderr)
    print('RESULTS ' + json.dumps(out))
""")


def _tiny_loader_options():
    """The 'tiny' data's settings as loader values (what a user of
    MMAction2's tools writes: they do not apply top-level data keys)."""
    opts = ['model.cls_head.num_classes=6', 'model.cls_head.in_channels=8']
    for loader in LOADERS:
        opts += [
            f'{loader}.dataset.num_classes=6',
            f'{loader}.dataset.feat_dim=8',
            f'{loader}.dataset.head_thr=30',
            f'{loader}.dataset.tail_thr=5',
            f'{loader}.batch_size=16',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
        ]
    return opts + ['default_hooks.logger.interval=1']


@pytest.mark.skipif(
    not osp.isfile(osp.join(TOOLS, 'train.py')),
    reason='the installed mmaction has no .mim/tools/train.py',
)
def test_mmaction_tools_train_and_test_our_configs(tmp_path):
    # the configs' own data_root, data/synthetic_lt, relative to the cwd
    generate_synthetic_lt(
        str(tmp_path / 'data' / 'synthetic_lt'), preset='tiny', seed=0
    )
    child = tmp_path / 'child.py'
    child.write_text(
        f'_base_ = [{osp.join(REPO, "configs", "nonlinear_synthetic.py")!r}]'
        "\ndata_root = 'data/mine'\n"
    )
    train, test = osp.join(TOOLS, 'train.py'), osp.join(TOOLS, 'test.py')
    nonlinear = osp.join(REPO, 'configs', 'nonlinear_synthetic.py')
    meid = osp.join(REPO, 'configs', 'meid_synthetic.py')
    opts = _tiny_loader_options()
    runs = [
        (
            'train',
            [train, nonlinear, '--work-dir', 'w1', '--cfg-options', *opts,
             'train_cfg.max_epochs=1', 'train_cfg.val_interval=1'],
        ),
        (
            'test',
            [test, nonlinear, 'w1/epoch_1.pth', '--work-dir', 'w1',
             '--cfg-options', *opts],
        ),
        (
            'meid',
            [train, meid, '--work-dir', 'w2', '--cfg-options', *opts,
             'train_cfg.stage1.max_epochs=1', 'train_cfg.stage2.max_epochs=1',
             'train_cfg.val_interval=1'],
        ),
        (
            'child',
            [train, str(child), '--work-dir', 'w3', '--cfg-options', *opts],
        ),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED='1')
    proc = subprocess.run(
        [sys.executable, '-c', DRIVER, json.dumps(runs)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    lines = [x for x in proc.stdout.splitlines() if x.startswith('RESULTS ')]
    assert lines, log[-5000:]
    results = json.loads(lines[-1][len('RESULTS ') :])
    assert results['train'] == 'ok', log[-5000:]
    assert osp.isfile(tmp_path / 'w1' / 'epoch_1.pth')
    assert results['test'] == 'ok', log[-5000:]
    assert 'lt/mAP_tail' in log
    assert results['meid'] == 'ok', log[-5000:]
    assert osp.isfile(tmp_path / 'w2' / 'epoch_2.pth')  # stage 1 + stage 2
    # (b) the child's data_root: stopped before training, key and fix named
    assert results['child'].startswith(
        "ValueError: data_root='data/mine' is set at the top level of the "
        'config but the loaders read train_dataloader.dataset.data_root='
        "'data/synthetic_lt'"
    ), results['child']
    assert (
        '--cfg-options train_dataloader.dataset.data_root=data/mine '
        'val_dataloader.dataset.data_root=data/mine '
        'test_dataloader.dataset.data_root=data/mine'
    ) in results['child']
    assert not [f for f in os.listdir(tmp_path / 'w3') if f.endswith('.pth')]
