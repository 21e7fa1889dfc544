import pytest
import torch
from mmaction.models.data_preprocessors import ActionDataPreprocessor
from mmaction.structures import ActionDataSample

from meid_mmaction.models.data_preprocessors import (
    FeatureDataPreprocessor,
    batch_of_views,
)
from meid_mmaction.utils import get_gt_label, set_gt_label


def _data(inputs):
    samples = [
        set_gt_label(ActionDataSample(), torch.eye(3)[i % 3])
        for i in range(len(inputs))
    ]
    return dict(inputs=list(inputs), data_samples=samples)


def test_batch_of_views_only_for_consecutive_views():
    base = torch.randn(4, 1, 5, 6).half()
    batch = batch_of_views(list(base))
    assert batch.data_ptr() == base.data_ptr()
    assert torch.equal(batch, base)
    assert batch_of_views([base[i] for i in (0, 2, 1, 3)]) is None
    assert batch_of_views([base[0], base[2]]) is None  # not consecutive
    assert batch_of_views(list(base[1:])) is not None
    assert batch_of_views([t.clone() for t in base]) is None
    assert batch_of_views(list(base[:, :, ::2])) is None  # not contiguous
    assert batch_of_views([]) is None and batch_of_views(base) is None


@pytest.mark.parametrize('views', [True, False])
@pytest.mark.parametrize('dtype', [torch.float16, torch.float32])
def test_equals_action_data_preprocessor(views, dtype):
    base = torch.randn(5, 1, 4, 3).to(dtype)
    inputs = list(base) if views else [t.clone() for t in base]
    ours = FeatureDataPreprocessor()(_data(inputs), training=True)
    ref = ActionDataPreprocessor()(
        _data([t.clone() for t in base]), training=True
    )
    assert ours['inputs'].dtype == torch.float32
    assert torch.equal(ours['inputs'], ref['inputs'])
    assert [get_gt_label(d).argmax().item() for d in ours['data_samples']] == [
        0,
        1,
        2,
        0,
        1,
    ]
    if views and dtype == torch.float32:  # nothing copied
        assert ours['inputs'].data_ptr() == base.data_ptr()


def test_blending_applies_to_the_batch():
    torch.manual_seed(0)
    base = torch.randn(4, 1, 2, 3)
    cfg = dict(type='MixupBlending', num_classes=3, alpha=0.2)
    torch.manual_seed(1)
    ours = FeatureDataPreprocessor(blending=cfg)(_data(list(base)), True)
    torch.manual_seed(1)
    ref = ActionDataPreprocessor(blending=cfg)(_data(list(base.clone())), True)
    torch.testing.assert_close(ours['inputs'], ref['inputs'])


def _labelled(labels, drawn=None):
    samples = []
    for i, y in enumerate(labels):
        ds = set_gt_label(ActionDataSample(), y)
        ds.set_metainfo(dict(drawn_class=i if drawn is None else drawn))
        samples.append(ds)
    return samples


def test_labels_move_to_the_device_in_one_copy():
    """On another device (here 'meta', which needs no GPU) the labels of a
    batch arrive as the rows of one tensor; the caller's samples keep
    their host labels; the metainfo is kept."""
    labels = [torch.eye(4)[i] for i in (0, 3, 1)]
    samples = _labelled(labels)
    pre = FeatureDataPreprocessor().to('meta')
    out = pre.cast_data(dict(inputs=None, data_samples=samples))
    moved = [get_gt_label(d) for d in out['data_samples']]
    assert all(t.device.type == 'meta' and t.shape == (4,) for t in moved)
    base = moved[0]._base
    assert base is not None and base.shape == (3, 4)
    assert all(t._base is base for t in moved)
    assert [d.metainfo['drawn_class'] for d in out['data_samples']] == [
        0,
        1,
        2,
    ]
    for ds, y in zip(samples, labels):  # the input samples are unchanged
        assert get_gt_label(ds) is y and y.device.type == 'cpu'


@pytest.mark.parametrize(
    'labels',
    [
        [torch.ones(3), torch.ones(4)],  # shapes differ
        [torch.ones(3), torch.ones(3, dtype=torch.float64)],  # dtypes differ
    ],
    ids=['shapes', 'dtypes'],
)
def test_labels_that_do_not_stack_move_one_by_one(labels):
    pre = FeatureDataPreprocessor().to('meta')
    out = pre.cast_data(dict(data_samples=_labelled(labels)))
    moved = [get_gt_label(d) for d in out['data_samples']]
    assert [t.device.type for t in moved] == ['meta', 'meta']
    assert [t.shape for t in moved] == [y.shape for y in labels]
    assert all(t._base is None for t in moved)


def test_samples_without_labels_are_cast_as_mmengine_does():
    pre = FeatureDataPreprocessor().to('meta')
    out = pre.cast_data(dict(data_samples=[ActionDataSample()]))
    assert len(out['data_samples']) == 1
    assert 'gt_labels' not in out['data_samples'][0]
