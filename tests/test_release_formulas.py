"""Issue 16, section 2: each fix against the released code's formula, written
independently here (VideoLT ``ops/losses.py`` / ``dy_main.py`` /
``base_main.py``, MOVE's ``MultiHeadAttention_Aggregator``, Cui et al.'s
class-balanced loss), never through our implementation."""

import math
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from sklearn.metrics import average_precision_score

import meid_mmaction  # noqa: F401
from meid_mmaction.engine.hooks import DatasetCheckHook, FrameStackAPHook
from meid_mmaction.engine.hooks.dataset_check_hook import model_class_numbers
from meid_mmaction.models.losses import (
    ClassBalancedLoss,
    LDAMLoss,
    MultiLabelFocalLoss,
)


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def bce(x, y):
    p = sig(x)
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


# ------------------------------------------------------- focal, exp(-BCE)
def test_focal_exp_bce_is_videolt_focal_on_soft_targets():
    # VideoLT FocalLoss: pt = exp(-BCE); alpha (1 - pt)^gamma BCE, mean
    x = [[1.5, -0.3], [0.2, 2.0]]
    y = [[0.75, 0.0], [0.25, 1.0]]
    gamma = 1.0
    by_hand = []
    for xr, yr in zip(x, y):
        for xi, yi in zip(xr, yr):
            b = bce(xi, yi)
            by_hand.append((1 - math.exp(-b)) ** gamma * b)
    logits = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor(y, dtype=torch.float64)
    loss = MultiLabelFocalLoss(gamma=gamma, pt_mode='exp_bce')(logits, targets)
    assert loss.item() == pytest.approx(sum(by_hand) / 4, rel=1e-12)
    # the gradient of that formula, by central differences
    loss.backward()
    h = 1e-6
    for i in range(2):
        for j in range(2):

            def f(v, i=i, j=j):
                b = bce(v, y[i][j])
                return (1 - math.exp(-b)) * b / 4

            num = (f(x[i][j] + h) - f(x[i][j] - h)) / (2 * h)
            assert logits.grad[i, j].item() == pytest.approx(num, rel=1e-6)
    # equal to the linear form on 0 / 1 targets, different on soft ones
    hard = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    lin = MultiLabelFocalLoss(gamma=2.0)
    exp = MultiLabelFocalLoss(gamma=2.0, pt_mode='exp_bce')
    assert exp(logits, hard).item() == pytest.approx(
        lin(logits, hard).item(), rel=1e-12
    )
    assert exp(logits, targets).item() != pytest.approx(
        lin(logits, targets).item(), rel=1e-3
    )
    with pytest.raises(ValueError, match=r"pt_mode='x' is not one of"):
        MultiLabelFocalLoss(pt_mode='x')


# --------------------------------------------------- class-balanced loss
def test_class_balanced_sample_weighting_is_cui_et_al():
    counts, beta = [10, 2, 1], 0.9
    eff = [(1 - beta) / (1 - beta**n) for n in counts]
    w = [v * 3 / sum(eff) for v in eff]
    x = [[0.5, -1.0, 2.0], [-0.2, 0.3, 0.1]]
    y = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    # Cui et al.: weight of a sample = one-hot(label) . w, on every column
    sample_w = [sum(wc * yc for wc, yc in zip(w, yr)) for yr in y]
    by_hand = (
        sum(
            sample_w[i] * bce(x[i][c], y[i][c])
            for i in range(2)
            for c in range(3)
        )
        / 6
    )
    loss = ClassBalancedLoss(
        class_counts=counts, beta=beta, weighting='sample'
    )
    logits = torch.tensor(x, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64)
    assert loss(logits, targets).item() == pytest.approx(by_hand, rel=1e-12)
    # VideoLT (default): BCE's weight= argument, one weight per column
    col = (
        sum(w[c] * bce(x[i][c], y[i][c]) for i in range(2) for c in range(3))
        / 6
    )
    videolt = ClassBalancedLoss(class_counts=counts, beta=beta)
    assert videolt(logits, targets).item() == pytest.approx(col, rel=1e-12)
    with pytest.raises(ValueError, match=r"weighting='x' is not one of"):
        ClassBalancedLoss(weighting='x')


# ------------------------------------------------------------------ LDAM
def test_ldam_margin_only_where_target_is_one():
    counts, max_m, s = [16, 1], 0.5, 30.0
    m = [n**-0.25 for n in counts]
    m = [v * max_m / max(m) for v in m]
    x = [[0.1, 0.2], [0.3, -0.1]]
    y = [[1.0, 0.5], [0.3, 0.0]]  # mixed targets
    # VideoLT LDAM: batch_m = m . y (soft), subtracted where uint8(y) == 1
    by_hand = []
    for xr, yr in zip(x, y):
        batch_m = sum(mc * yc for mc, yc in zip(m, yr))
        for xi, yi in zip(xr, yr):
            out = xi - batch_m if int(yi) == 1 else xi
            by_hand.append(bce(s * out, yi))
    loss = LDAMLoss(class_counts=counts, max_margin=max_m, scale=s)
    got = loss(
        torch.tensor(x, dtype=torch.float64),
        torch.tensor(y, dtype=torch.float64),
    )
    assert got.item() == pytest.approx(sum(by_hand) / 4, rel=1e-12)


# ------------------------------------------------- resampling reduction
def test_cbs_srs_rows_use_videolt_resampling_reduction():
    # VideoLT rs_train: loss (reduction none) * mask, mean(sum(., 1))
    x = [[0.5, -1.0, 2.0], [-0.2, 0.3, 0.1]]
    y = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    mask = [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    by_hand = (
        sum(
            mask[i][c] * bce(x[i][c], y[i][c])
            for i in range(2)
            for c in range(3)
        )
        / 2
    )
    for name in ('cbs', 'srs'):
        cfg = Config.fromfile(
            f'configs/baselines/{name}_nonlinear_videolt_r101.py'
        )
        assert cfg.optim_wrapper.clip_grad.max_norm == 20
        loss = MODELS.build(cfg.model.cls_head.loss_cls)
        got = loss(
            torch.tensor(x, dtype=torch.float64),
            torch.tensor(y, dtype=torch.float64),
            loss_mask=torch.tensor(mask, dtype=torch.float64),
        )
        assert got.item() == pytest.approx(by_hand, rel=1e-12)


# ------------------------------------------- FrameStack warm-up, AP hook
class _Head(torch.nn.Module):
    def __init__(self, eps):
        super().__init__()
        self.num_classes = 3
        self.label_smooth_eps = eps
        self.loss_cls = MultiLabelFocalLoss()


class _Model(torch.nn.Module):
    def __init__(self, eps=0.0, warm_epoch=0):
        super().__init__()
        self.head = _Head(eps)
        self.fs = MODELS.build(
            dict(type='FrameStack', num_classes=3, warm_epoch=warm_epoch)
        )


def test_framestack_warm_epoch_follows_videolt():
    # dy_main.py: `if epoch <= args.warm_epoch:` trains on the plain clips
    runner = types.SimpleNamespace(model=_Model(warm_epoch=1), epoch=0)
    hook = FrameStackAPHook()
    x = torch.arange(4 * 6, dtype=torch.float32).view(4, 6, 1)
    y = torch.eye(4, 3)
    for epoch, stacked in ((0, False), (1, False), (2, True)):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        assert int(runner.model.fs.epoch) == epoch
        swap = types.SimpleNamespace(
            permutation=lambda n: np.arange(n)[::-1].copy()
        )
        out, t = runner.model.fs.blend(x, y, swap)
        assert (not torch.equal(out, x)) is stacked
        assert (not torch.equal(t, y)) is stacked
        hook.after_train_epoch(runner)
    with pytest.raises(ValueError, match='warm_epoch must be an int >= 0'):
        MODELS.build(dict(type='FrameStack', num_classes=3, warm_epoch=-1))


def test_ap_hook_uses_hard_labels_under_label_smoothing():
    eps = 0.1
    runner = types.SimpleNamespace(model=_Model(eps=eps), epoch=0)
    hook = FrameStackAPHook()
    rng = np.random.default_rng(1)
    logits = torch.tensor(rng.normal(size=(16, 3)), dtype=torch.float32)
    hard = torch.tensor(rng.random((16, 3)) < 0.4, dtype=torch.float32)
    hard[0, :2] = 1
    hard[1, :2] = 0
    soft = hard.clone()
    soft[2] *= 0.4  # a stacked clip keeps its classes
    smoothed = (1 - eps) * soft + eps / 3  # what the head hands the loss
    assert bool((smoothed > 0).all())
    hook.before_train_epoch(runner)
    runner.model.head.loss_cls(logits, smoothed)
    hook.after_train_epoch(runner)
    scores = torch.sigmoid(logits).half().float().numpy()
    expected = [
        average_precision_score(hard[:, c].numpy() > 0, scores[:, c])
        if hard[:, c].any()
        else 0.0
        for c in range(3)
    ]
    np.testing.assert_allclose(
        runner.model.fs.class_ap.numpy(), expected, rtol=1e-6
    )
    assert not np.allclose(expected, 1.0)  # the bug gave AP 1 everywhere


# ------------------------------------------------------- MOVE attention
def test_attention_pooling_move_options():
    torch.manual_seed(0)
    d, heads, dk = 6, 2, 3
    att = MODELS.build(
        dict(
            type='AttentionPooling',
            in_channels=d,
            num_heads=heads,
            key_channels=dk,
            value_channels=dk,
            dropout=0.0,
            attn_dropout=0.5,
            norm_eps=1e-6,
            bias=False,
        )
    ).train()
    assert att.norm.eps == 1e-6
    assert all(
        m.bias is None for m in (att.query, att.key, att.value, att.out)
    )
    x = torch.randn(2, 5, d)
    # MOVE: q = mean frame; attn = dropout(softmax(q k^T / sqrt(d_k)));
    # LayerNorm(fc(attn v) + q), eps 1e-6
    q = x.mean(1, keepdim=True)
    qh = (q @ att.query.weight.T).view(2, 1, heads, dk).transpose(1, 2)
    kh = (x @ att.key.weight.T).view(2, 5, heads, dk).transpose(1, 2)
    vh = (x @ att.value.weight.T).view(2, 5, heads, dk).transpose(1, 2)
    torch.manual_seed(7)
    attn = F.dropout(
        F.softmax((qh / dk**0.5) @ kh.transpose(2, 3), dim=-1), 0.5, True
    )
    o = (attn @ vh).transpose(1, 2).reshape(2, 1, heads * dk)
    ref = F.layer_norm(
        o @ att.out.weight.T + q, (d,), att.norm.weight, att.norm.bias, 1e-6
    )[:, 0]
    torch.manual_seed(7)
    torch.testing.assert_close(att(x), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='attn_dropout must be in'):
        MODELS.build(
            dict(type='AttentionPooling', in_channels=d, attn_dropout=1.0)
        )
    move = Config.fromfile(
        'configs/aggregators/netvlad_attention_bce_videolt_r50.py'
    ).model.cls_head.aggregators[1]
    assert (move.attn_dropout, move.norm_eps, move.bias) == (0.1, 1e-6, False)


# ------------------------------------------------ num_classes, data key
def test_framestack_num_classes_from_the_head_and_checked():
    cfg = Config.fromfile(
        'configs/baselines/framestack_nextvlad_charadeslt_r101.py'
    )
    assert 'num_classes' not in cfg.model.data_preprocessor.blending
    assert cfg.model.cls_head.num_classes == cfg.num_classes == 157
    init_default_scope('mmaction')
    head = dict(type='NonlinearClsHead', num_classes=7, in_channels=2)
    pre = dict(
        type='FeatureDataPreprocessor',
        blending=dict(type='FrameStack'),
    )
    model = MODELS.build(
        dict(type='FeatureRecognizer', cls_head=head, data_preprocessor=pre)
    )
    assert model.data_preprocessor.blending.num_classes == 7
    assert 'num_classes' not in pre['blending']  # the config is not changed
    pre['blending']['num_classes'] = 5  # its own value is kept
    model = MODELS.build(
        dict(type='FeatureRecognizer', cls_head=head, data_preprocessor=pre)
    )
    assert model.data_preprocessor.blending.num_classes == 5


def test_dataset_check_compares_every_model_num_classes():
    init_default_scope('mmaction')
    model = MODELS.build(
        dict(
            type='FeatureRecognizer',
            cls_head=dict(
                type='NonlinearClsHead', num_classes=4, in_channels=2
            ),
            data_preprocessor=dict(
                type='FeatureDataPreprocessor',
                blending=dict(type='FrameStack', num_classes=5),
            ),
        )
    )
    assert model_class_numbers(model) == [
        ('model.cls_head', 4),
        ('model.data_preprocessor.blending', 5),
    ]
    loader = dict(dataset=dict(num_classes=4))
    runner = types.SimpleNamespace(
        model=model,
        cfg=Config(
            dict(
                train_dataloader=loader,
                val_dataloader=loader,
                test_dataloader=loader,
            )
        ),
    )
    with pytest.raises(ValueError) as err:
        DatasetCheckHook().before_run(runner)
    msg = str(err.value)
    assert msg.startswith(
        'model.data_preprocessor.blending.num_classes=5 disagrees with the '
        'data: train_dataloader.dataset.num_classes=4;'
    )
    assert 'model.cls_head.num_classes=4 disagrees' not in msg


# ------------------------------------------------ NeXtVLAD, released form
def _bn_train(x, dims, weight, bias, eps=1e-5):
    """Training-mode BatchNorm by hand: statistics over ``dims``."""
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def test_nextvlad_released_form_is_meid_net_module():
    torch.manual_seed(0)
    b, m, d, lam, g, k = 3, 5, 4, 2, 2, 3
    layer = MODELS.build(
        dict(
            type='NeXtVLAD',
            in_channels=d,
            num_clusters=k,
            expansion=lam,
            groups=g,
            hidden_channels=None,
            input_norm=True,
            assign_norm='frames',
            num_frames=m,
            assign_bias=True,
            l2_norm=False,
            scalar_bn=True,
        )
    ).train()
    for bn in (layer.input_norm, layer.assign_norm, layer.scalar_bn):
        torch.nn.init.normal_(bn.weight)
        torch.nn.init.normal_(bn.bias)
    assert layer.assign.bias is not None
    x = torch.randn(b, m, d)
    gs = lam * d // g
    # MEID models.py NeXtVLADModel.bn1: BatchNorm1d(D) of every frame
    xb = _bn_train(
        x.reshape(b * m, d),
        (0,),
        layer.input_norm.weight,
        layer.input_norm.bias,
    ).reshape(b, m, d)
    x_dot = xb @ layer.expand.weight.T + layer.expand.bias
    x_tilde = x_dot.reshape(b, m * g, gs)
    # net_module.py: fc_gk, then bn0 = BatchNorm1d(max_frames) on [B, M, GK]
    wgkx = x_dot @ layer.assign.weight.T + layer.assign.bias
    wgkx = _bn_train(
        wgkx,
        (0, 2),
        layer.assign_norm.weight[None, :, None],
        layer.assign_norm.bias[None, :, None],
    )
    alpha_gk = F.softmax(wgkx.reshape(b, m * g, k), dim=-1)
    alpha_g = torch.sigmoid(
        x_dot @ layer.group_attention.weight.T + layer.group_attention.bias
    ).reshape(b, m * g, 1)
    act = alpha_gk * alpha_g
    a = act.sum(-2, keepdim=True) * layer.centers.T[None]  # [B, D', K]
    vlad = (act.permute(0, 2, 1) @ x_tilde).permute(0, 2, 1) - a
    vlad = F.normalize(vlad, dim=1)  # over D' of each cluster
    flat = vlad.reshape(b, 1, k * gs)
    flat = _bn_train(
        flat, (0, 2), layer.scalar_bn.weight, layer.scalar_bn.bias
    )
    # ours flattens [B, K, D']; the scalar BatchNorm does not mind the order
    ref = flat.reshape(b, gs, k).transpose(1, 2).reshape(b, -1)
    torch.testing.assert_close(layer(x), ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match='built for num_frames=5'):
        layer(torch.randn(b, m + 1, d))
    with pytest.raises(ValueError, match="assign_norm='frames' needs"):
        MODELS.build(
            dict(type='NeXtVLAD', in_channels=d, assign_norm='frames')
        )
