"""FeatureRecognizer on ``[B, V, N, D]`` / ``[B, N, D]`` feature inputs."""

import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from meid_mmaction.models.losses import multilabel_focal_loss
from meid_mmaction.models.recognizers import FeatureRecognizer
from meid_mmaction.utils import get_gt_label, get_pred_score, set_gt_label

C, D = 4, 6


class DoubleFeatures(nn.Module):
    """Test backbone on ``[B, N, D]``: doubles the features."""

    def forward(self, x):
        assert x.dim() == 3
        return 2 * x


@pytest.fixture
def model():
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='FeatureRecognizer',
            cls_head=dict(
                type='NonlinearClsHead',
                num_classes=C,
                in_channels=D,
                hidden_channels=5,
                loss_cls=dict(type='MultiLabelFocalLoss', gamma=2.0),
            ),
        )
    )
    with torch.no_grad():
        for p in model.cls_head.parameters():
            p.normal_()
    return model.eval()


def _samples(num, num_classes=C):
    out = []
    for b in range(num):
        target = torch.zeros(num_classes)
        target[b % num_classes] = 1
        target[(3 * b + 1) % num_classes] = 1
        out.append(set_gt_label(ActionDataSample(), target))
    return out


def _targets(samples):
    return torch.stack([get_gt_label(s) for s in samples])


def test_built(model):
    assert isinstance(model, FeatureRecognizer)
    assert isinstance(model.backbone, nn.Identity)
    assert not model.with_neck


@pytest.mark.parametrize(
    'shape', [(3, 1, 7, D), (3, 7, D)], ids=['BVND', 'BND']
)
def test_loss(model, shape):
    x = torch.randn(*shape)
    samples = _samples(3)
    losses = model(x, samples, mode='loss')
    expected = multilabel_focal_loss(
        model.cls_head(x.reshape(3, 7, D)), _targets(samples), gamma=2.0
    )
    torch.testing.assert_close(losses['loss_cls'], expected)


def test_loss_through_train_step(model):
    # The data preprocessor stacks per-sample ``[V, N, D]`` inputs.
    model.train()
    data = dict(
        inputs=[torch.randn(1, 7, D) for _ in range(2)],
        data_samples=_samples(2),
    )
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.cls_head.fc2.weight.detach().clone()
    log_vars = model.train_step(data, optim)
    assert set(log_vars) == {'loss', 'loss_cls'}
    assert not torch.equal(before, model.cls_head.fc2.weight)


def test_predict_averages_views(model):
    x = torch.randn(2, 3, 7, D)  # B = 2, V = 3
    samples = model(x, _samples(2), mode='predict')
    probs = torch.sigmoid(model.cls_head(x.reshape(6, 7, D)))
    for b, sample in enumerate(samples):
        expected = torch.stack([probs[3 * b + v] for v in range(3)]).mean(0)
        score = get_pred_score(sample)
        assert score.shape == (C,)
        torch.testing.assert_close(score, expected)


def test_predict_three_dim_input(model):
    x = torch.randn(2, 7, D)
    samples = model(x, _samples(2), mode='predict')
    expected = torch.sigmoid(model.cls_head(x))
    for b, sample in enumerate(samples):
        torch.testing.assert_close(get_pred_score(sample), expected[b])


def test_test_step_with_preprocessor(model):
    data = dict(
        inputs=[torch.randn(3, 7, D) for _ in range(2)],
        data_samples=_samples(2),
    )
    samples = model.test_step(data)
    stacked = torch.stack(data['inputs']).reshape(6, 7, D)
    probs = torch.sigmoid(model.cls_head(stacked)).view(2, 3, C).mean(1)
    for b, sample in enumerate(samples):
        torch.testing.assert_close(get_pred_score(sample), probs[b])


def test_tensor_mode_returns_features(model):
    # As in MMAction2's recognizers: the (backbone) features [B * V, N, D].
    x = torch.randn(2, 3, 7, D)
    out = model(x, mode='tensor')
    torch.testing.assert_close(out, x.reshape(6, 7, D))


def test_backbone_is_applied():
    init_default_scope('mmaction')
    model = MODELS.build(
        dict(
            type='FeatureRecognizer',
            backbone=dict(type=DoubleFeatures),
            cls_head=dict(
                type='NonlinearClsHead', num_classes=C, in_channels=D
            ),
        )
    ).eval()
    x = torch.randn(2, 2, 5, D)
    feats, kwargs = model.extract_feat(x)
    assert kwargs == dict(num_segs=2)
    torch.testing.assert_close(feats, 2 * x.reshape(4, 5, D))
    samples = model(x, _samples(2), mode='predict')
    probs = torch.sigmoid(model.cls_head(2 * x.reshape(4, 5, D)))
    torch.testing.assert_close(
        get_pred_score(samples[1]), (probs[2] + probs[3]) / 2
    )


class FrameMaxNeck(nn.Module):
    """Test neck: appends the max over frames as one more frame and
    returns ``(features, aux losses)`` like MMAction2's necks."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x, data_samples=None):
        self.seen.append(data_samples)
        return torch.cat([x, x.max(dim=1, keepdim=True).values], 1), dict()


def test_neck_is_applied_after_the_backbone():
    init_default_scope('mmaction')
    model = MODELS.build(
        dict(
            type='FeatureRecognizer',
            backbone=dict(type=DoubleFeatures),
            neck=dict(type=FrameMaxNeck),
            cls_head=dict(
                type='NonlinearClsHead', num_classes=C, in_channels=D
            ),
        )
    ).eval()
    assert model.with_neck
    x = torch.randn(2, 1, 5, D)
    samples = _samples(2)
    feats, kwargs = model.extract_feat(x, data_samples=samples)
    doubled = 2 * x.reshape(2, 5, D)
    expected = torch.cat([doubled, doubled.max(1, keepdim=True).values], 1)
    assert feats.shape == (2, 6, D) and kwargs == dict(num_segs=1)
    torch.testing.assert_close(feats, expected)
    assert model.neck.seen[-1] is samples
    out = model(x, samples, mode='predict')
    torch.testing.assert_close(
        get_pred_score(out[0]), torch.sigmoid(model.cls_head(expected))[0]
    )


def test_loss_with_views_is_refused(model):
    with pytest.raises(
        ValueError,
        match=re.escape('training expects one view per video (num_clips=1)'),
    ):
        model(torch.randn(2, 3, 7, D), _samples(2), mode='loss')


@pytest.mark.parametrize('shape', [(2, D), (2, 1, 1, 7, D)])
def test_wrong_rank(model, shape):
    with pytest.raises(
        ValueError,
        match=re.escape(
            'FeatureRecognizer expects inputs [B, V, N, D] '
            f'or [B, N, D], got {shape}'
        ),
    ):
        model(torch.randn(*shape), _samples(2), mode='predict')


def test_int_label_from_mmaction_dataset(model):
    # Single-label ground truth (mmaction's own datasets) is one-hot encoded.
    x = torch.randn(2, 1, 7, D)
    samples = [set_gt_label(ActionDataSample(), c) for c in (2, 0)]
    one_hot = F.one_hot(torch.tensor([2, 0]), C).float()
    expected = multilabel_focal_loss(
        model.cls_head(x.reshape(2, 7, D)), one_hot, gamma=2.0
    )
    torch.testing.assert_close(
        model(x, samples, mode='loss')['loss_cls'], expected
    )
