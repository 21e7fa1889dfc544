"""AggregatorClsHead: concatenated aggregators, classifier, loss, predict."""

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import meid_mmaction  # noqa: F401
from meid_mmaction.utils import get_pred_score, set_gt_label

C, D = 5, 8
VLAD = dict(type='NetVLAD', num_clusters=3, hidden_channels=4)
ATT = dict(
    type='AttentionPooling',
    num_heads=2,
    key_channels=3,
    value_channels=3,
    dropout=0.0,
)


def make(**kwargs):
    cfg = dict(
        type='AggregatorClsHead',
        num_classes=C,
        in_channels=D,
        aggregators=[VLAD, ATT],
    )
    cfg.update(kwargs)
    return MODELS.build(cfg)


def samples(batch):
    out = []
    for i in range(batch):
        target = torch.zeros(C)
        target[[i % C, (i + 2) % C]] = 1.0
        out.append(set_gt_label(ActionDataSample(), target))
    return out


def test_logits_concatenate_aggregators():
    torch.manual_seed(0)
    head = make().eval()
    assert head.video_channels == 4 + D
    x = torch.randn(3, 6, D)
    v = torch.cat([head.aggregators[0](x), head.aggregators[1](x)], -1)
    fc = head.classifier[-1]
    torch.testing.assert_close(head(x), F.linear(v, fc.weight, fc.bias))
    single = make(aggregators=VLAD, dropout_ratio=0.0).eval()
    assert len(single.aggregators) == 1 and len(single.classifier) == 1


def test_mlp_classifier_and_bce_loss():
    torch.manual_seed(0)
    head = make(
        mlp_channels=7, loss_cls=dict(type='MultiLabelFocalLoss', gamma=0.0)
    )
    fc1, fc2 = head.classifier[0], head.classifier[-1]
    assert (fc1.in_features, fc1.out_features) == (4 + D, 7)
    head.eval()
    x = torch.randn(4, 6, D)
    v = head.pool(x)
    logits = F.linear(
        F.relu(F.linear(v, fc1.weight, fc1.bias)), fc2.weight, fc2.bias
    )
    torch.testing.assert_close(head(x), logits)
    data = samples(4)
    targets = torch.stack([get_target(d) for d in data])
    loss = head.loss_by_feat(logits, data)['loss_cls']
    torch.testing.assert_close(
        loss, F.binary_cross_entropy_with_logits(logits, targets)
    )
    preds = head.predict(x, samples(4))
    torch.testing.assert_close(
        torch.stack([get_pred_score(p) for p in preds]), torch.sigmoid(logits)
    )
    head.train()
    losses = head.loss(x, data)
    losses['loss_cls'].backward()
    for key, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, key


def get_target(data_sample):
    from meid_mmaction.utils.compat import get_gt_label, to_multi_hot

    return to_multi_hot(get_gt_label(data_sample), C).float()


def test_errors():
    with pytest.raises(ValueError, match='non-empty list of dicts'):
        make(aggregators=[])
    with pytest.raises(
        ValueError, match='has in_channels=4; the head gets 8-d frames'
    ):
        make(aggregators=dict(type='MeanPooling', in_channels=4))
    head = make()
    with pytest.raises(
        ValueError,
        match=r'expects \[B, N, 8\] features, '
        r'got \(2, 3, 5\)',
    ):
        head(torch.randn(2, 3, 5))
