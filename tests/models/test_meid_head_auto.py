"""MEIDHead(inference='auto' / 'auto_group'): the stored per-class expert
combination (fallback, scoring, buffers in checkpoints, recording)."""

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.runner.checkpoint import load_checkpoint, save_checkpoint

import meid_mmaction  # noqa: F401
from meid_mmaction.models.heads.meid_modules import mix_logits
from meid_mmaction.utils import get_pred_score, set_gt_label

C, D = 4, 6


def make_head(**kwargs):
    cfg = dict(
        type='MEIDHead', num_classes=C, in_channels=D, loss_distill=None
    )
    cfg.update(kwargs)
    return MODELS.build(cfg)


def experts(head, x):
    y = head.expert1(x)
    return y, head.expert2(x, head.expert1.attention(x))


def test_fallback_scores_like_the_fixed_variants():
    torch.manual_seed(0)
    x = torch.randn(3, 5, D)
    for fallback, weight in (('prob_mix', 0.3), ('logit_sum', 0.5)):
        head = make_head(
            inference='auto', auto_fallback=fallback, inference_weight=weight
        )
        head.set_train_stage(2)
        head.eval()
        y, y_f = experts(head, x)
        assert int(head.combination_chosen) == 0
        if fallback == 'prob_mix':
            expect = weight * torch.sigmoid(y) + (1 - weight) * torch.sigmoid(
                y_f
            )
            torch.testing.assert_close(torch.sigmoid(head(x)), expect)
        else:
            assert torch.equal(head(x), y + y_f)
        assert 'not chosen yet' in head.describe_combination()


def test_per_class_combination_hand_computed():
    torch.manual_seed(1)
    head = make_head(inference='auto_group')
    head.set_train_stage(2)
    head.eval()
    # classes: expert 1 alone, Y + 2.5 Y_F, mixture w = 0.2, expert 2 alone
    form = torch.tensor([0, 0, 1, 1])
    value = torch.tensor([0.0, 2.5, 0.2, 0.0])
    head.set_combination(form, value)
    assert int(head.combination_chosen) == 1
    x = torch.randn(3, 5, D)
    y, y_f = experts(head, x)
    out = head(x)
    assert torch.equal(out[:, 0], y[:, 0])  # a = 0 is expert 1, exactly
    assert torch.equal(out[:, 1], y[:, 1] + 2.5 * y_f[:, 1])
    torch.testing.assert_close(
        torch.sigmoid(out[:, 2]),
        0.2 * torch.sigmoid(y[:, 2]) + 0.8 * torch.sigmoid(y_f[:, 2]),
    )
    assert torch.equal(out[:, 3], y_f[:, 3])  # w = 0 is expert 2, exactly
    # stage 1 ignores the combination
    head.set_train_stage(1)
    assert torch.equal(head(x), y)
    text = head.describe_combination()
    assert text.startswith('chosen on validation: s(Y) for 1 classes')


def test_tensor_weight_mix_logits_matches_the_float_path():
    y1 = torch.tensor([[-30.0, -1.0, 0.0, 2.0, 30.0]])
    y2 = torch.tensor([[3.0, 0.5, 0.0, -2.0, 30.0]])
    for w in (0.0, 0.3, 1.0):
        torch.testing.assert_close(
            mix_logits(y1, y2, torch.full((5,), w)), mix_logits(y1, y2, w)
        )


def test_combination_buffers_restored_from_a_checkpoint(tmp_path):
    torch.manual_seed(2)
    head = make_head(inference='auto')
    head.set_train_stage(2)
    head.set_combination(
        torch.ones(C, dtype=torch.long), torch.full((C,), 0.7)
    )
    path = str(tmp_path / 'head.pth')
    save_checkpoint(dict(state_dict=head.state_dict()), path)
    fresh = make_head(inference='auto')
    load_checkpoint(fresh, path, map_location='cpu', strict=True)
    assert fresh.stage == 2 and int(fresh.combination_chosen) == 1
    assert fresh.combination_form.tolist() == [1] * C
    torch.testing.assert_close(fresh.combination_value, torch.full((C,), 0.7))
    fresh.eval()
    head.eval()
    x = torch.randn(2, 5, D)
    data = [set_gt_label(ActionDataSample(), torch.zeros(C)) for _ in range(2)]
    fresh.predict(x, data)
    y, y_f = experts(head, x)
    expect = 0.7 * torch.sigmoid(y) + 0.3 * torch.sigmoid(y_f)
    for d, e in zip(data, expect):
        torch.testing.assert_close(get_pred_score(d), e)
    # fixed variants carry no combination buffers
    assert 'combination_form' not in make_head().state_dict()


def test_recording_and_candidate_scores():
    torch.manual_seed(3)
    head = make_head(inference='auto')
    head.set_train_stage(2)
    head.eval()
    x = torch.randn(4, 5, D)  # 2 videos x 2 views
    assert head.pop_expert_records() == (None, None)
    head.record_experts(True)
    head(x[:2])
    head(x[2:])
    y, y_f = head.pop_expert_records()
    ey, ey_f = experts(head, x)
    torch.testing.assert_close(y, ey)
    torch.testing.assert_close(y_f, ey_f)
    head.record_experts(False)
    head(x)
    assert head.pop_expert_records() == (None, None)
    # candidate scores: combined, sigmoid, averaged over the views
    form = torch.zeros(C, dtype=torch.long)
    value = torch.full((C,), 1.5)
    scores = head.combination_scores(
        y.view(2, 2, C), y_f.view(2, 2, C), form, value
    )
    expect = torch.sigmoid(ey + 1.5 * ey_f).view(2, 2, C).mean(1)
    torch.testing.assert_close(scores, expect)


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(inference='autox'), r"inference='autox' is not supported; .*"),
        (dict(auto_fallback='auto'), r"auto_fallback='auto' is not supp"),
        (dict(auto_logit_grid=(0.0, -1.0)), r'auto_logit_grid must be a'),
        (dict(auto_mix_grid=(0.5, 2.0)), r'auto_mix_grid must be a'),
    ],
)
def test_auto_option_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_head(**kwargs)


def test_set_combination_errors():
    with pytest.raises(ValueError, match=r"inference='logit_sum'\) has no"):
        make_head().set_combination(torch.zeros(C), torch.zeros(C))
    with pytest.raises(ValueError, match=r'shape \(4,\), got \(3,\)'):
        make_head(inference='auto').set_combination(
            torch.zeros(3, dtype=torch.long), torch.zeros(C)
        )
