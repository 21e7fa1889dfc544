"""Frame draws seeded by (seed, epoch, sample index)."""

from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from meid_mmaction.datasets import MultiLabelFeatureDataset
from meid_mmaction.datasets.transforms import SampleFeatureFrames
from meid_mmaction.engine.hooks import FrameSamplingSeedHook


@pytest.fixture
def dataset(tmp_path):
    init_default_scope('mmaction')
    (tmp_path / 'feats').mkdir()
    lines = []
    for i in range(4):
        np.save(
            tmp_path / 'feats' / f'v{i}.npy',
            np.arange(30 * 2, dtype=np.float32).reshape(30, 2),
        )
        lines.append(f'v{i} {i % 2}')
    (tmp_path / 'train.lst').write_text('\n'.join(lines) + '\n')
    return MultiLabelFeatureDataset(
        ann_file=str(tmp_path / 'train.lst'),
        data_prefix=dict(feat=str(tmp_path / 'feats')),
        num_classes=2,
        head_thr=1,
        tail_thr=0,
        pipeline=[
            dict(type='OpenFeatures'),
            dict(type='SampleFeatureFrames', clip_len=8),
        ],
    )


def test_seeded_draw_ignores_the_global_random_state():
    t = SampleFeatureFrames(clip_len=6, num_clips=2)
    np.random.seed(0)
    a = t(dict(total_frames=10, sample_seed=(3, 1, 7)))['frame_inds']
    np.random.seed(1)
    b = t(dict(total_frames=10, sample_seed=(3, 1, 7)))['frame_inds']
    np.testing.assert_array_equal(a, b)


def test_dataset_set_frame_seed(dataset):
    assert 'sample_seed' not in dataset[0]
    dataset.set_frame_seed(5, 0)
    first = [dataset[i]['frame_inds'] for i in range(4)]
    assert dataset[2]['sample_seed'] == (5, 0, 2)
    again = [dataset[i]['frame_inds'] for i in range(4)]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    dataset.set_frame_seed(5, 1)
    later = [dataset[i]['frame_inds'] for i in range(4)]
    assert any(not np.array_equal(x, y) for x, y in zip(first, later))


def _runner(dataset, persistent, num_workers, epoch=3, seed=11):
    loader = SimpleNamespace(
        dataset=dataset, persistent_workers=persistent, num_workers=num_workers
    )
    return SimpleNamespace(
        train_loop=SimpleNamespace(dataloader=loader), seed=seed, epoch=epoch
    )


def test_hook_sets_epoch(dataset):
    hook = FrameSamplingSeedHook()
    hook.before_train_epoch(_runner(dataset, persistent=False, num_workers=2))
    assert dataset[1]['sample_seed'] == (11, 3, 1)


def test_hook_skips_persistent_workers(dataset):
    import logging

    records = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append((record.levelno, record.getMessage()))

    handler = Capture()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        hook = FrameSamplingSeedHook()
        for _ in range(3):
            hook.before_train_epoch(
                _runner(dataset, persistent=True, num_workers=2)
            )
    finally:
        logger.removeHandler(handler)
    assert 'sample_seed' not in dataset[1]
    warnings = [
        m
        for level, m in records
        if level == logging.WARNING and 'persistent workers' in m
    ]
    assert len(warnings) == 1  # said once, not every epoch
    assert 'set persistent_workers=False' in warnings[0]
    # persistent but no workers: the main process sees every epoch
    hook.before_train_epoch(_runner(dataset, persistent=True, num_workers=0))
    assert dataset[1]['sample_seed'] == (11, 3, 1)


def test_hook_ignores_datasets_without_set_frame_seed():
    hook = FrameSamplingSeedHook()
    hook.before_train_epoch(_runner(object(), persistent=False, num_workers=0))


@pytest.mark.parametrize('workers', [1, 2])
def test_draws_do_not_depend_on_dataloader_workers(dataset, workers):
    """The same epoch gives the same frames with 0, 1 or 2 workers (each
    worker has its own global random state; the draws must not use it)."""
    from torch.utils.data import DataLoader

    def draws(num_workers):
        dataset.set_frame_seed(7, 2)
        loader = DataLoader(
            dataset,
            batch_size=1,
            num_workers=num_workers,
            collate_fn=lambda b: b[0]['frame_inds'],
            timeout=120 if num_workers else 0,
        )
        return [inds.tolist() for inds in loader]

    main_process = draws(0)
    assert len({tuple(d) for d in main_process}) > 1  # samples differ
    assert draws(workers) == main_process
    dataset.set_frame_seed(7, 3)
    other_epoch = [dataset[i]['frame_inds'].tolist() for i in range(4)]
    assert other_epoch != main_process
