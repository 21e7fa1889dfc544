"""The label mask of resampling: reductions, mask, heads (incl. MEID)."""

import math

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import meid_mmaction  # noqa: F401
from meid_mmaction.datasets.label_mask import resampling_loss_mask
from meid_mmaction.models.losses.utils import reduce_loss
from meid_mmaction.utils import set_gt_label

C = 3


def sample(labels, drawn=None, num_classes=C):
    target = torch.zeros(num_classes)
    target[labels] = 1.0
    ds = set_gt_label(ActionDataSample(), target)
    if drawn is not None:
        ds.set_metainfo(dict(drawn_class=drawn))
    return ds


def test_reductions_hand_computed():
    loss = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    assert torch.equal(reduce_loss(loss, 'none'), loss)
    assert reduce_loss(loss, 'mean').item() == pytest.approx(21 / 6)
    assert reduce_loss(loss, 'sum').item() == pytest.approx(21)
    # sum over classes (6, 15), mean over the batch
    assert reduce_loss(loss, 'batch_sum').item() == pytest.approx(10.5)
    assert torch.equal(
        reduce_loss(loss, 'none', mask),
        torch.tensor([[1.0, 0.0, 3.0], [0.0, 5.0, 6.0]]),
    )
    # masked elements count as zeros, denominators unchanged
    assert reduce_loss(loss, 'mean', mask).item() == pytest.approx(15 / 6)
    assert reduce_loss(loss, 'batch_sum', mask).item() == pytest.approx(7.5)
    with pytest.raises(ValueError, match='loss_mask \\(2, 2\\) must have'):
        reduce_loss(loss, 'mean', torch.ones(2, 2))
    with pytest.raises(ValueError, match="reduction='avg' is not one of"):
        reduce_loss(loss, 'avg')


def test_mask_for_a_video_drawn_via_each_of_its_classes():
    # video with classes {0, 2} of C = 4; the other row has no drawn class
    targets = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    via0 = resampling_loss_mask(targets, torch.tensor([0, -1]))
    via2 = resampling_loss_mask(targets, torch.tensor([2, -1]))
    assert via0.tolist() == [[1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    assert via2.tolist() == [[0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    # VideoLT's formula 1 - (y - onehot(c))
    onehot = F.one_hot(torch.tensor(2), 4).float()
    assert torch.equal(via2[0], 1 - (targets[0] - onehot))
    both = resampling_loss_mask(targets, torch.tensor([0, 1]))
    assert both.tolist() == [[1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 1.0]]


def test_mask_errors():
    targets = torch.tensor([[1.0, 0.0, 1.0]])
    with pytest.raises(
        ValueError,
        match='row 0 was drawn for class 1, which is not among its positive',
    ):
        resampling_loss_mask(targets, torch.tensor([1]))
    with pytest.raises(
        ValueError, match='drawn class 3 of batch row 0 is outside \\[0, 3\\)'
    ):
        resampling_loss_mask(targets, torch.tensor([3]))
    with pytest.raises(ValueError, match='targets must be \\[B, C\\]'):
        resampling_loss_mask(targets, torch.tensor([0, 1]))


def bce(logit, y):
    return y * math.log1p(math.exp(-logit)) + (1 - y) * math.log1p(
        math.exp(logit)
    )


def test_nonlinear_head_masks_the_other_positives():
    head = MODELS.build(
        dict(
            type='NonlinearClsHead',
            num_classes=C,
            in_channels=2,
            loss_cls=dict(
                type='MultiLabelFocalLoss', gamma=0.0, reduction='batch_sum'
            ),
        )
    )
    logits = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    # video 0 {0, 2} drawn for class 2; video 1 {1} drawn naturally
    data = [sample([0, 2], drawn=2), sample([1])]
    loss = head.loss_by_feat(logits, data)['loss_cls'].item()
    row0 = bce(-1.0, 0) + bce(2.0, 1)  # class 0 masked
    row1 = bce(1.0, 0) + bce(0.0, 1) + bce(-0.5, 0)
    assert loss == pytest.approx((row0 + row1) / 2, rel=1e-6)
    # no drawn class anywhere: the plain loss
    plain = head.loss_by_feat(logits, [sample([0, 2]), sample([1])])
    expected = (bce(0.5, 1) + row0 + row1) / 2
    assert plain['loss_cls'].item() == pytest.approx(expected, rel=1e-6)


def test_loss_without_mask_argument_is_refused():
    head = MODELS.build(
        dict(
            type='NonlinearClsHead',
            num_classes=C,
            in_channels=2,
            loss_cls=dict(type='BCELossWithLogits'),
        )
    )
    logits = torch.zeros(1, C)
    head.loss_by_feat(logits, [sample([0])])  # fine without a mask
    with pytest.raises(
        ValueError, match='BCELossWithLogits takes no loss_mask'
    ):
        head.loss_by_feat(logits, [sample([0, 1], drawn=0)])


@pytest.mark.parametrize('stage', [1, 2])
def test_meid_head_masks_its_classification_loss(stage):
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type='MEIDHead', num_classes=C, in_channels=4, loss_distill=None)
    )
    head.set_train_stage(stage)
    x = torch.randn(2, 5, 4)
    data = [sample([0, 1, 2], drawn=1), sample([2], drawn=2)]
    y, y_f = head.forward_experts(x)
    logits = y if y_f is None else y + y_f
    loss = head.loss(x, data)['loss_cls']
    targets = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    mask = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    p = torch.sigmoid(logits)
    elem = (
        (1 - p) * targets + p * (1 - targets)
    ) * F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    torch.testing.assert_close(loss, (elem * mask).mean())


class _MaskTakingLoss(torch.nn.Module):
    """A loss with a ``loss_mask`` argument but, at first, no declaration."""

    def forward(self, logits, targets, loss_mask=None):
        loss = F.binary_cross_entropy_with_logits(
            logits, targets, reduction='none'
        )
        return reduce_loss(loss, 'sum', loss_mask)


def test_loss_contract_is_the_class_attribute():
    """The head passes the mask by the declared contract
    (``accepts_loss_mask = True``), not by the loss's signature."""
    from meid_mmaction.datasets.label_mask import accepts_loss_mask, call_loss

    for name in ('MultiLabelFocalLoss', 'ClassBalancedLoss', 'LDAMLoss'):
        assert MODELS.get(name).accepts_loss_mask is True
    assert MODELS.get('EQLLoss').accepts_loss_mask is True
    loss = _MaskTakingLoss()
    logits = torch.tensor([[0.5, -1.0, 2.0]])
    targets = torch.tensor([[1.0, 1.0, 0.0]])
    mask = torch.tensor([[1.0, 0.0, 1.0]])
    assert not accepts_loss_mask(loss)
    with pytest.raises(ValueError, match='_MaskTakingLoss takes no loss_mask'):
        call_loss(loss, logits, targets, mask)
    loss.accepts_loss_mask = True
    got = call_loss(loss, logits, targets, mask)
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    assert got.item() == pytest.approx(bce[0, 0].item() + bce[0, 2].item())
    assert call_loss(loss, logits, targets).item() == pytest.approx(
        bce.sum().item()
    )
