"""FrameStack through ``tools/train.py``: the training AP reaches the
augmentation, is saved in checkpoints, and ``--resume`` is exact."""

import os.path as osp

import torch

from meid_datatools.synthetic import generate_synthetic_lt

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY = dict(
    num_classes=6,
    max_count=40,
    min_count=2,
    val_max_count=4,
    test_max_count=4,
    eval_min_count=2,
    feat_dim=8,
    min_frames=6,
    max_frames=10,
    min_seg_frames=2,
    family_size=2,
    head_thr=20,
    tail_thr=5,
    chunk_size=32,
    min_imbalance_ratio=10.0,
)


def _train(run_script, args, work_dir, root):
    opts = [
        f'data_root={root}',
        'num_classes=6',
        'feat_dim=8',
        'head_thr=20',
        'tail_thr=5',
    ]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{key}.num_workers=0', f'{key}.persistent_workers=False']
    opts += [
        'model.cls_head.num_classes=6',
        'model.cls_head.in_channels=8',
        # the head's default dropout (0.5) is on: RNGStateHook restores the
        # global random states on resume
        'model.data_preprocessor.blending.num_classes=6',
        'train_dataloader.batch_size=8',
        'train_cfg.val_interval=10',
    ]
    config = osp.join(
        REPO, 'configs', 'baselines', 'framestack_nonlinear_synthetic.py'
    )
    proc = run_script(
        [
            'tools/train.py',
            config,
            '--work-dir',
            work_dir,
            *args,
            '--cfg-options',
            *opts,
        ],
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=False)[
        'state_dict'
    ]


def test_framestack_resume_is_exact(tmp_path, run_script):
    root = str(tmp_path / 'data')
    generate_synthetic_lt(root, seed=0, **TINY)
    full = str(tmp_path / 'full')
    _train(run_script, [], full, root)
    key = 'data_preprocessor.blending.class_ap'
    ap1 = _state(osp.join(full, 'epoch_1.pth'))[key]
    ap3 = _state(osp.join(full, 'epoch_3.pth'))[key]
    assert ap1.shape == (6,) and bool((ap1 > 0).any())
    assert not torch.equal(ap1, ap3)
    resumed = str(tmp_path / 'resumed')
    out = _train(
        run_script, ['--resume', osp.join(full, 'epoch_1.pth')], resumed, root
    )
    assert 'resumed epoch: 1' in out
    a = _state(osp.join(full, 'epoch_3.pth'))
    b = _state(osp.join(resumed, 'epoch_3.pth'))
    assert set(a) == set(b)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=0)
