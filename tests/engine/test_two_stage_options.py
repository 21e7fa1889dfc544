"""TwoStageTrainLoop options: one stage, lr multipliers, frozen backbone."""

import os.path as osp

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.hooks import Hook

# helpers of the main loop test (tests/engine is on sys.path)
from test_two_stage_loop import make_cfg, run, weights, write_data


@MODELS.register_module(name='MEIDTestLinearBackbone', force=True)
class LinearBackbone(torch.nn.Linear):
    """A per-frame linear map ``[B, N, D] -> [B, N, D]``."""


class GroupLrs(Hook):
    """Sorted distinct learning rates of all parameter groups per epoch."""

    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            groups = runner.optim_wrapper.optimizer.param_groups
            self.lrs.append(sorted({g['lr'] for g in groups}))


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return write_data(str(tmp_path_factory.mktemp('data')))


def test_stage1_only(root, tmp_path):
    rec = GroupLrs()
    runner = run(make_cfg(root, str(tmp_path), stages=(1,)), rec)
    assert runner.train_loop.max_epochs == 2
    np.testing.assert_allclose([lr[0] for lr in rec.lrs], [1e-2, 1e-3])
    assert not osp.exists(tmp_path / 'epoch_3.pth')
    ck = [weights(osp.join(tmp_path, f'epoch_{e}.pth')) for e in (1, 2)]
    assert [c['cls_head.train_stage'].item() for c in ck] == [1, 1]
    moved = [
        n
        for n in ck[0]
        if n.startswith('cls_head.expert1.')
        and not torch.equal(ck[0][n], ck[1][n])
    ]
    assert moved
    for name in ck[0]:
        if name.startswith('cls_head.expert2.'):
            assert torch.equal(ck[0][name], ck[1][name]), name


def test_per_group_lr_multipliers_survive_stages_and_resume(root, tmp_path):
    cfg = make_cfg(root, str(tmp_path / 'full'))
    cfg['optim_wrapper']['paramwise_cfg'] = dict(
        custom_keys={'cls_head.expert2.fc_cls': dict(lr_mult=0.5)}
    )
    rec = GroupLrs()
    run(cfg, rec)
    # optimizer lr 1e-2 (stage 1, no lr given), stage 2 lr 1e-3; x0.1 after
    # one stage epoch; the expert 2 classifier's groups at half of that
    expected = [[5e-3, 1e-2], [5e-4, 1e-3], [5e-4, 1e-3], [5e-5, 1e-4]]
    np.testing.assert_allclose(rec.lrs, expected)
    resumed = make_cfg(root, str(tmp_path / 'resumed'))
    resumed['optim_wrapper']['paramwise_cfg'] = cfg['optim_wrapper'][
        'paramwise_cfg'
    ]
    resumed.update(
        resume=True, load_from=str(tmp_path / 'full' / 'epoch_3.pth')
    )
    rec = GroupLrs()
    run(resumed, rec)
    np.testing.assert_allclose(rec.lrs, expected[3:])


def test_backbone_is_trained_in_stage1_and_frozen_in_stage2(root, tmp_path):
    cfg = make_cfg(root, str(tmp_path))
    d = cfg['model']['cls_head']['in_channels']
    cfg['model']['backbone'] = dict(
        type='MEIDTestLinearBackbone', in_features=d, out_features=d
    )
    runner = run(cfg)
    ck = [weights(osp.join(tmp_path, f'epoch_{e}.pth')) for e in (1, 2, 3, 4)]
    for name in ('backbone.weight', 'backbone.bias'):
        assert not torch.equal(ck[0][name], ck[1][name]), name  # stage 1
        assert torch.equal(ck[1][name], ck[2][name]), name  # stage 2
        assert torch.equal(ck[2][name], ck[3][name]), name
    backbone = runner.model.backbone
    assert not backbone.training
    assert not any(p.requires_grad for p in backbone.parameters())
