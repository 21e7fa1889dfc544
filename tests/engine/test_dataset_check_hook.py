"""DatasetCheckHook: model vs dataset ``num_classes`` and the pre-flight
check of all splits, through the tools' runner builder."""

import copy
import os
import os.path as osp
import types
import uuid

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

import meid_mmaction  # noqa: F401
from meid_mmaction.engine.hooks import DatasetCheckHook
from meid_mmaction.engine.hooks.dataset_check_hook import dataset_num_classes
from meid_mmaction.utils.cli import build_runner

C, D, FRAMES = 4, 6, 5
LABELS = [[0], [0, 1], [1], [2], [3], [0, 3]]


def _write(root, split, ids, shape=(FRAMES, D)):
    os.makedirs(osp.join(root, 'feats'), exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for i, vid in enumerate(ids):
        path = osp.join(root, 'feats', f'{vid}.npy')
        if not osp.exists(path):
            np.save(path, rng.normal(size=shape).astype(np.float32))
        lines.append(f'{vid} ' + ','.join(map(str, LABELS[i % 6])))
    with open(osp.join(root, f'{split}.lst'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


@pytest.fixture
def data(tmp_path):
    root = str(tmp_path / 'data')
    _write(root, 'train', [f't{i}' for i in range(6)])
    _write(root, 'val', [f'v{i}' for i in range(4)])
    _write(root, 'test', [f'x{i}' for i in range(4)])
    return root


def _dataset(root, split):
    return dict(
        type='MultiLabelFeatureDataset',
        data_root=root,
        ann_file=f'{split}.lst',
        train_ann_file=osp.join(root, 'train.lst'),
        num_classes=C,
        head_thr=2,
        tail_thr=1,
        data_prefix=dict(feat='feats'),
        feat_dim=D,
        test_mode=split != 'train',
        pipeline=[
            dict(type='OpenFeatures'),
            dict(
                type='SampleFeatureFrames',
                clip_len=4,
                test_mode=split != 'train',
            ),
            dict(type='LoadFeatureFrames'),
            dict(type='PackFeatureInputs'),
        ],
    )


def _cfg(root, work_dir, model_classes=C):
    loaders = {}
    for split in ('train', 'val', 'test'):
        loaders[f'{split}_dataloader'] = dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=split == 'train'),
            dataset=_dataset(root, split),
        )
    return Config(
        dict(
            default_scope='mmaction',
            work_dir=work_dir,
            experiment_name=uuid.uuid4().hex,
            model=dict(
                type='FeatureRecognizer',
                cls_head=dict(
                    type='NonlinearClsHead',
                    num_classes=model_classes,
                    in_channels=D,
                ),
                data_preprocessor=dict(type='ActionDataPreprocessor'),
            ),
            **loaders,
            val_evaluator=dict(type='LongTailMAP', topk=(1,)),
            test_evaluator=dict(type='LongTailMAP', topk=(1,)),
            val_cfg=dict(type='ValLoop'),
            test_cfg=dict(type='TestLoop'),
            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', interval=1)
            ),
            log_level='WARNING',
        )
    )


def _runner_like(cfg):
    return types.SimpleNamespace(cfg=cfg)


def test_model_vs_dataset_num_classes_train(data, tmp_path):
    runner = build_runner(_cfg(data, str(tmp_path / 'w'), model_classes=5))
    with pytest.raises(ValueError) as err:
        runner.train()
    msg = str(err.value)
    assert msg.startswith(
        'model.cls_head.num_classes=5 disagrees with the '
        'data: train_dataloader.dataset.num_classes=4; '
        'val_dataloader.dataset.num_classes=4; '
        'test_dataloader.dataset.num_classes=4.'
    )
    assert 'model.cls_head.num_classes=N' in msg
    assert not os.listdir(str(tmp_path / 'w')) or not any(
        f.endswith('.pth') for f in os.listdir(str(tmp_path / 'w'))
    )


def test_model_vs_dataset_num_classes_test_only(data, tmp_path):
    cfg = _cfg(data, str(tmp_path / 'w'))
    cfg.test_dataloader.dataset.num_classes = 3
    # the count file of the training list has 4 classes: the test dataset
    # is only compared by its config value here, before it is built
    runner = build_runner(copy.deepcopy(cfg))
    with pytest.raises(
        ValueError,
        match=r'model.cls_head.num_classes=4 '
        r'disagrees with the data: '
        r'test_dataloader.dataset.num_classes=3\.',
    ):
        runner.train()


def test_dataset_num_classes_sources():
    ds = types.SimpleNamespace(
        num_classes=None, metainfo=dict(classes=('a', 'b', 'c'))
    )
    assert dataset_num_classes(ds) == (3, "metainfo['classes']")
    wrapper = types.SimpleNamespace(
        dataset=types.SimpleNamespace(num_classes=7, dataset=None), metainfo={}
    )
    assert dataset_num_classes(wrapper) == (7, 'num_classes')
    assert dataset_num_classes(types.SimpleNamespace(metainfo={})) is None


def _fresh_logger():
    """A new current MMLogger at INFO (earlier runners may have set
    WARNING)."""
    MMLogger.get_instance(uuid.uuid4().hex, log_level='INFO')


def test_preflight_ok_and_checks_all_splits(data, tmp_path, capsys):
    _fresh_logger()
    DatasetCheckHook().before_train(_runner_like(_cfg(data, str(tmp_path))))
    assert (
        'checked lists, count file and feature headers of the train, '
        'val, test splits'
    ) in capsys.readouterr().out


def test_preflight_bad_test_features_fail_at_train_start(data, tmp_path):
    # a test video with the wrong feature size: found before training
    np.save(
        osp.join(data, 'feats', 'x2.npy'),
        np.zeros((FRAMES, D + 1), np.float32),
    )
    os.remove(osp.join(data, 'feats', 'x3.npy'))
    with pytest.raises(ValueError) as err:
        build_runner(_cfg(data, str(tmp_path / 'w'))).train()
    msg = str(err.value)
    assert msg.startswith(
        'The pre-flight check of the data found problems (nothing was trained)'
    )
    assert (
        f'{osp.join(data, "feats", "x2.npy")}: shape (5, 7), expected '
        'D = 6' in msg
    )
    assert "feature file of video 'x3' not found" in msg
    assert (
        'python tools/data/check_dataset.py --config <config> '
        '--headers-only` (plus the same --cfg-options)' in msg
    )
    assert not osp.isdir(str(tmp_path / 'w')) or not any(
        f.endswith('.pth') for f in os.listdir(str(tmp_path / 'w'))
    )


def test_preflight_nan_only_with_full(data, tmp_path):
    bad = np.zeros((FRAMES, D), np.float32)
    bad[1, 2] = np.nan
    np.save(osp.join(data, 'feats', 'v1.npy'), bad)
    runner = _runner_like(_cfg(data, str(tmp_path)))
    DatasetCheckHook(check='headers').before_train(runner)  # not read
    with pytest.raises(ValueError) as err:
        DatasetCheckHook(check='full').before_train(runner)
    assert (
        f'{osp.join(data, "feats", "v1.npy")}: 1 NaN/inf values of '
        '30' in str(err.value)
    )


def test_preflight_lists_and_off(data, tmp_path):
    with open(osp.join(data, 'val.lst'), 'a') as f:
        f.write('v9 11\n')
    runner = _runner_like(_cfg(data, str(tmp_path)))
    with pytest.raises(
        ValueError,
        match=r'label_out_of_range: 1\n.*'
        r'val\.lst:5: label 11 of video',
    ):
        DatasetCheckHook(check='lists').before_train(runner)
    DatasetCheckHook(check='off').before_train(runner)


def test_same_video_in_train_and_test_warns(data, tmp_path, capsys):
    with open(osp.join(data, 'test.lst'), 'a') as f:
        f.write('t1 0,1\n')
    _fresh_logger()
    DatasetCheckHook().before_train(_runner_like(_cfg(data, str(tmp_path))))
    out = capsys.readouterr().out
    assert 'WARNING - 1 video(s) are in the lists of two splits' in out
    assert "video 't1' is in split 'test'" in out
    assert "and in split 'train'" in out


def test_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"check must be one of \('off', "
        r"'lists', 'headers', 'full'\), got 'all'",
    ):
        DatasetCheckHook(check='all')
    with pytest.raises(ValueError, match='workers must be >= 1, got 0'):
        DatasetCheckHook(workers=0)
