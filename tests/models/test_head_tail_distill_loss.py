import math

import pytest
import torch
import torch.nn.functional as F

import meid_mmaction  # noqa: F401
from meid_mmaction.models.losses.head_tail_distill_loss import (
    HeadTailDistillLoss,
    head_tail_distill_loss,
)


def test_pure_function_hand_computed():
    # per-unit population variances: head (1, 1), tail (0, 4)
    head = torch.tensor([[1.0, 0.0], [3.0, 2.0]])
    tail = torch.tensor([[0.0, 0.0], [0.0, 4.0]])
    assert head_tail_distill_loss(head, tail).item() == pytest.approx(
        math.sqrt(10.0)
    )
    assert head_tail_distill_loss(head, tail, 'mse').item() == pytest.approx(
        5.0
    )


def test_pure_function_errors():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="distance='l1' is not supported"):
        head_tail_distill_loss(x, x, 'l1')
    with pytest.raises(ValueError, match=r'same shape.*\(2, 3\).*\(2, 4\)'):
        head_tail_distill_loss(x, torch.zeros(2, 4))


def test_zero_variance_has_finite_gradient():
    h = torch.ones(1, 4, requires_grad=True)
    t = torch.ones(1, 4, requires_grad=True)
    loss = head_tail_distill_loss(h, t)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(h.grad).all() and torch.isfinite(t.grad).all()


def test_module_hand_computed_example():
    loss = HeadTailDistillLoss(num_classes=4, neck_channels=1)
    loss.set_class_groups(dict(head=[0], medium=[1, 2], tail=[3]))
    with torch.no_grad():
        loss.neck_head.weight.copy_(torch.tensor([[2.0, 7.0, 7.0, 7.0]]))
        loss.neck_head.bias.fill_(1.0)
        loss.neck_tail.weight.copy_(torch.tensor([[9.0, 9.0, 9.0, 1.0]]))
        loss.neck_tail.bias.fill_(-3.0)
    y = torch.tensor([[1.0, 5.0, 5.0, 0.0], [3.0, -5.0, 2.0, 2.0]])
    # head neck: 2*1+1=3, 2*3+1=7 -> var 4; tail: 0-3, 2-3 -> var 1
    assert loss(y).item() == pytest.approx(0.1 * 3.0)


def test_module_equals_direct_formula():
    torch.manual_seed(0)
    head, tail = [0, 2, 5], [1, 6]
    loss = HeadTailDistillLoss(
        num_classes=7, neck_channels=5, distance='mse', loss_weight=1.0
    )
    loss.set_class_groups(dict(head=head, medium=[3, 4], tail=tail))
    y = torch.randn(6, 7)
    wh, bh = loss.neck_head.weight[:, head], loss.neck_head.bias
    wt, bt = loss.neck_tail.weight[:, tail], loss.neck_tail.bias
    vh = F.linear(y[:, head], wh, bh).var(0, unbiased=False)
    vt = F.linear(y[:, tail], wt, bt).var(0, unbiased=False)
    expected = ((vh - vt) ** 2).mean()
    torch.testing.assert_close(loss(y), expected)


def test_group_init_and_no_reinit():
    torch.manual_seed(0)
    loss = HeadTailDistillLoss(num_classes=10, neck_channels=64)
    loss.set_class_groups(dict(head=[0, 1, 2, 3], tail=[9]))
    w = loss.neck_head.weight
    assert (w[:, 4:] == 0).all()
    assert w[:, :4].abs().max() <= 0.5  # 1 / sqrt(4)
    assert (loss.neck_tail.weight[:, :9] == 0).all()
    assert loss.head_mask.tolist() == [1.0] * 4 + [0.0] * 6
    assert loss.tail_mask.tolist() == [0.0] * 9 + [1.0]
    before = w.clone()
    loss.set_class_groups(dict(head=[0, 1, 2, 3], tail=[8, 9]))
    assert torch.equal(loss.neck_head.weight, before)
    assert loss.tail_mask.tolist() == [0.0] * 8 + [1.0, 1.0]


def test_state_dict_carries_groups():
    loss = HeadTailDistillLoss(num_classes=3, neck_channels=2)
    loss.set_class_groups(dict(head=[0], tail=[2]))
    fresh = HeadTailDistillLoss(num_classes=3, neck_channels=2)
    assert not fresh.has_class_groups
    fresh.load_state_dict(loss.state_dict())
    assert fresh.has_class_groups
    y = torch.randn(4, 3)
    torch.testing.assert_close(fresh(y), loss(y))


def test_gradients_reach_necks_and_logits():
    loss = HeadTailDistillLoss(num_classes=3, neck_channels=2)
    loss.set_class_groups(dict(head=[0], tail=[2]))
    y = torch.randn(5, 3, requires_grad=True)
    loss(y).backward()
    assert y.grad[:, [0, 2]].abs().sum() > 0
    assert (y.grad[:, 1] == 0).all()  # medium classes are unused
    assert loss.neck_head.weight.grad.abs().sum() > 0


def test_module_errors():
    with pytest.raises(ValueError, match="distance='cos'"):
        HeadTailDistillLoss(num_classes=3, distance='cos')
    with pytest.raises(ValueError, match='must be >= 1, got 0 and 128'):
        HeadTailDistillLoss(num_classes=0)
    loss = HeadTailDistillLoss(num_classes=3, neck_channels=2)
    with pytest.raises(ValueError, match='class groups were never set'):
        loss(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="keys 'head' and 'tail'"):
        loss.set_class_groups(dict(head=[0]))
    with pytest.raises(
        ValueError,
        match=r"class_groups\['tail'\] has indices \[3\] "
        r'outside \[0, 3\)',
    ):
        loss.set_class_groups(dict(head=[0], tail=[3]))
    with pytest.raises(ValueError, match=r'overlap in classes \[1\]'):
        loss.set_class_groups(dict(head=[0, 1], tail=[1, 2]))
    loss.set_class_groups(dict(head=[0], tail=[2]))
    with pytest.raises(
        ValueError,
        match=r'logits must be \[B, 3\], got '
        r'\(2, 4\)',
    ):
        loss(torch.zeros(2, 4))


def _groups_loss(**kwargs):
    torch.manual_seed(0)
    loss = HeadTailDistillLoss(num_classes=4, neck_channels=2, **kwargs)
    loss.set_class_groups(dict(head=[0, 1], medium=[2], tail=[3]))
    return loss


def test_neck_mode_frozen_gets_no_gradient():
    loss = _groups_loss(neck_mode='frozen')
    free = _groups_loss()  # same seed: same necks
    y = torch.randn(5, 4, requires_grad=True)
    value = loss(y)
    torch.testing.assert_close(value, free(y))  # same value
    value.backward()
    assert all(p.grad is None for p in loss.parameters())
    assert y.grad is not None and y.grad.abs().sum() > 0


def test_neck_mode_unit_hand_computed_and_scale_free():
    loss = _groups_loss(neck_mode='unit', loss_weight=1.0)
    with torch.no_grad():
        loss.neck_head.weight.copy_(
            torch.tensor([[3.0, 4.0, 9.0, 9.0], [0.0, 2.0, 9.0, 9.0]])
        )
        loss.neck_tail.weight.copy_(
            torch.tensor([[9.0, 9.0, 9.0, -2.0], [9.0, 9.0, 9.0, 5.0]])
        )
        loss.neck_head.bias.zero_()
        loss.neck_tail.bias.zero_()
    y = torch.tensor([[1.0, 0.0, 7.0, 2.0], [0.0, 1.0, 7.0, 0.0]])
    head, tail = loss.necks(y)
    # rows normalised over the group's columns: (0.6, 0.8), (0, 1); tail
    # column 3 only: -1, 1
    torch.testing.assert_close(head, torch.tensor([[0.6, 0.0], [0.8, 1.0]]))
    torch.testing.assert_close(tail, torch.tensor([[-2.0, 2.0], [0.0, 0.0]]))
    # Var head (0.01, 0.25), Var tail (1, 1)
    assert loss(y).item() == pytest.approx(math.hypot(0.99, 0.75))
    with torch.no_grad():
        loss.neck_head.weight.mul_(1e-3)  # shrinking the neck changes
        loss.neck_tail.weight.mul_(1e-3)  # nothing
    assert loss(y).item() == pytest.approx(math.hypot(0.99, 0.75))


def test_neck_mode_error():
    with pytest.raises(
        ValueError,
        match="neck_mode='tied' is not supported"
        r".*\('free', 'frozen', 'unit'\)",
    ):
        HeadTailDistillLoss(num_classes=4, neck_mode='tied')
