"""MEIDHead on backbone maps: multi-view val / test pipelines need
``frames_per_view`` (refused at start-up otherwise)."""

import os.path as osp

import pytest
from mmengine.config import Config

from meid_mmaction.utils.cli import build_runner
from meid_mmaction.utils.view_check import check_meid_views

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
EXAMPLE = osp.join(REPO, 'configs', 'meid_r50_videodataset_example.py')


def _example(frames_per_view, test_step=None, sample_kw=None):
    cfg = Config.fromfile(EXAMPLE)
    cfg.model.cls_head.frames_per_view = frames_per_view
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    if sample_kw:
        i = [s['type'] for s in pipeline].index('SampleFrames')
        pipeline[i] = dict(pipeline[i], **sample_kw)
    if test_step:
        i = [s['type'] for s in pipeline].index('CenterCrop')
        pipeline[i] = test_step
    cfg.test_dataloader.dataset.pipeline = pipeline
    return cfg


@pytest.mark.parametrize(
    'step, sample_kw, why',
    [
        (dict(type='ThreeCrop', crop_size=224), None, 'ThreeCrop makes 3'),
        (dict(type='TenCrop', crop_size=224), None, 'TenCrop makes 10'),
        (None, dict(twice_sample=True), r'twice_sample=True\) makes 2'),
    ],
)
def test_multi_view_without_frames_per_view_is_refused(step, sample_kw, why):
    cfg = _example(None, step, sample_kw)
    with pytest.raises(ValueError, match=why) as err:
        build_runner(cfg)  # refused before anything is built
    msg = str(err.value)
    assert msg.startswith('test_dataloader.dataset.pipeline[')
    assert 'model.cls_head.frames_per_view is not set' in msg


@pytest.mark.parametrize(
    'step, sample_kw',
    [
        (dict(type='ThreeCrop', crop_size=224), None),
        (None, dict(twice_sample=True)),
        (None, None),
    ],
)
def test_frames_per_view_or_single_view_passes(step, sample_kw):
    check_meid_views(_example(8, step, sample_kw))
    check_meid_views(_example(None, None, None))  # one view: nothing to do


def test_wrapped_dataset_and_other_heads():
    cfg = _example(None, dict(type='mmaction.TenCrop', crop_size=224))
    inner = cfg.test_dataloader.dataset
    cfg.test_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=inner
    )
    with pytest.raises(ValueError, match=r'dataset\.dataset\.pipeline\['):
        check_meid_views(cfg)
    cfg.model.cls_head = dict(
        type='TSNHead', num_classes=400, in_channels=2048
    )
    check_meid_views(cfg)  # not a MEIDHead: nothing to check
