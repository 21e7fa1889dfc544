"""LongTailLossHook: counts from the training metainfo, DRW epochs, resume,
and label-masked resampling, through mmengine's Runner (tiny, CPU)."""

import copy
import os
import os.path as osp
import uuid

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import meid_mmaction  # noqa: F401

C, D = 3, 4
# class counts 6 / 3 / 2
TRAIN = [[0], [0, 1], [0], [0, 2], [0, 1], [0], [1, 2]]


def write_data(root):
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'feats'), exist_ok=True)
    lines = []
    for i, labels in enumerate(TRAIN):
        x = rng.normal(size=(5, D)).astype(np.float32)
        x[:, labels] += 1.0
        np.save(osp.join(root, 'feats', f'v{i}.npy'), x)
        lines.append(f'v{i} ' + ','.join(map(str, labels)))
    with open(osp.join(root, 'train.lst'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


class Recorder(Hook):
    """Per training iteration: epoch, DRW state, drawn classes."""

    def __init__(self):
        self.rows = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        loss = runner.model.cls_head.loss_cls
        drawn = [
            ds.metainfo.get('drawn_class') for ds in data_batch['data_samples']
        ]
        self.rows.append(
            (runner.epoch, getattr(loss, 'drw_active', None), drawn)
        )


def make_cfg(root, work_dir, loss, sampler=None, max_epochs=3):
    return dict(
        default_scope='mmaction',
        work_dir=work_dir,
        experiment_name=uuid.uuid4().hex,
        model=dict(
            type='FeatureRecognizer',
            # dropout on: RNGStateHook restores the global random states
            cls_head=dict(
                type='NonlinearClsHead',
                num_classes=C,
                in_channels=D,
                dropout_ratio=0.5,
                loss_cls=loss,
            ),
            data_preprocessor=dict(type='ActionDataPreprocessor'),
        ),
        train_dataloader=dict(
            batch_size=3,
            num_workers=0,
            sampler=sampler or dict(type='DefaultSampler', shuffle=True),
            dataset=dict(
                type='MultiLabelFeatureDataset',
                ann_file=osp.join(root, 'train.lst'),
                num_classes=C,
                head_thr=4,
                tail_thr=2,
                data_prefix=dict(feat=osp.join(root, 'feats')),
                pipeline=[
                    dict(type='OpenFeatures'),
                    dict(type='SampleFeatureFrames', clip_len=3),
                    dict(type='LoadFeatureFrames'),
                    dict(type='PackFeatureInputs'),
                ],
            ),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-2)),
        custom_hooks=[
            dict(type='RNGStateHook'),
            dict(type='FrameSamplingSeedHook'),
            dict(type='LongTailLossHook'),
        ],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        log_level='WARNING',
    )


def run(cfg, resume_from=None):
    cfg = copy.deepcopy(cfg)
    if resume_from:
        cfg.update(resume=True, load_from=resume_from)
    runner = Runner.from_cfg(cfg)
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('lt_data'))
    write_data(path)
    return path


def test_counts_reach_the_loss_from_the_training_metainfo(root, tmp_path):
    cfg = make_cfg(
        root, str(tmp_path), dict(type='ClassBalancedLoss'), max_epochs=1
    )
    runner, _ = run(cfg)
    assert runner.model.cls_head.loss_cls.class_counts.tolist() == [6, 3, 2]
    # constructor counts win over the metainfo
    cfg = make_cfg(
        root,
        str(tmp_path),
        dict(type='EQLLoss', class_counts=[9, 9, 1]),
        max_epochs=1,
    )
    runner, _ = run(cfg)
    assert runner.model.cls_head.loss_cls.class_counts.tolist() == [9, 9, 1]


def test_drw_switch_and_resume_across_it(root, tmp_path):
    loss = dict(type='LDAMLoss', drw_epoch=2)
    cfg = make_cfg(root, str(tmp_path / 'full'), loss, max_epochs=3)
    full, rec = run(cfg)
    assert [(e, a) for e, a, _ in rec.rows] == [(0, False)] * 3 + [
        (1, False)
    ] * 3 + [(2, True)] * 3
    # resume from the checkpoint after epoch 1 (before the switch): epoch 2
    # switches on, and training continues exactly
    ckpt = osp.join(str(tmp_path / 'full'), 'epoch_2.pth')
    cfg = make_cfg(root, str(tmp_path / 'resumed'), loss, max_epochs=3)
    resumed, rec2 = run(cfg, resume_from=ckpt)
    assert [(e, a) for e, a, _ in rec2.rows] == [(2, True)] * 3
    for key, value in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value)


@pytest.mark.parametrize(
    'sampler', ['ClassBalancedSampler', 'SquareRootSampler']
)
def test_label_masked_resampling_end_to_end(root, tmp_path, sampler):
    cfg = make_cfg(
        root,
        str(tmp_path),
        dict(type='MultiLabelFocalLoss', reduction='batch_sum'),
        sampler=dict(type=sampler, label_mask=True),
        max_epochs=2,
    )
    _, rec = run(cfg)
    drawn = [c for _, _, cs in rec.rows for c in cs]
    assert len(drawn) == 2 * len(TRAIN)
    assert all(c in (0, 1, 2) for c in drawn)


def test_missing_metainfo_is_reported(root, tmp_path):
    from meid_mmaction.engine.hooks import LongTailLossHook

    class FakeDataset:
        metainfo = dict(
            classes=('a', 'b', 'c'),
            class_groups=dict(head=[0], medium=[1], tail=[2]),
        )

    class FakeRunner:
        model = torch.nn.Sequential(
            meid_mmaction.models.losses.ClassBalancedLoss()
        )
        train_dataloader = type('L', (), dict(dataset=FakeDataset()))()

    with pytest.raises(
        ValueError,
        match='FakeDataset publishes no '
        "metainfo\\['class_counts'\\], which "
        "\\['ClassBalancedLoss'\\] need",
    ):
        LongTailLossHook().before_train(FakeRunner())
    FakeDataset.metainfo = dict(classes=('a', 'b', 'c'))
    FakeRunner.model = torch.nn.Sequential(
        meid_mmaction.models.losses.EQLLoss(class_counts=[3, 2, 1])
    )
    with pytest.raises(
        ValueError,
        match='FakeDataset publishes no '
        "metainfo\\['class_groups'\\], which "
        "\\['EQLLoss'\\] need",
    ):
        LongTailLossHook().before_train(FakeRunner())


def test_meid_stage2_label_mask_by_config(root, tmp_path):
    cfg = make_cfg(root, str(tmp_path), dict(type='MultiLabelFocalLoss'))
    cfg['model']['cls_head'] = dict(
        type='MEIDHead',
        num_classes=C,
        in_channels=D,
        hidden_channels=8,
        loss_distill=dict(type='HeadTailDistillLoss', neck_channels=4),
    )
    cfg['train_cfg'] = dict(
        type='TwoStageTrainLoop',
        stage1=dict(max_epochs=1, milestones=[]),
        stage2=dict(
            max_epochs=1,
            lr=1e-3,
            milestones=[],
            sampler=dict(type='ClassBalancedSampler', label_mask=True),
        ),
        val_interval=100,
    )
    cfg['param_scheduler'] = []
    _, rec = run(cfg)
    stage1 = [c for e, _, cs in rec.rows if e == 0 for c in cs]
    stage2 = [c for e, _, cs in rec.rows if e == 1 for c in cs]
    assert stage1 and all(c is None for c in stage1)
    assert len(stage2) == len(TRAIN) and all(c in (0, 1, 2) for c in stage2)
