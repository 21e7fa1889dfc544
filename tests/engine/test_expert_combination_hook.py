"""ExpertCombinationHook in a real two-stage run (tiny data, CPU): the
choice is made on validation, stored in the checkpoints, used by the
validation that follows and by a test run, and exact on resume."""

import copy
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

# helpers of the main loop test (tests/engine is on sys.path)
from test_two_stage_loop import make_cfg, run, weights, write_data

from meid_mmaction.engine.hooks import ExpertCombinationHook


class ValMaps(Hook):
    """Validation / test mAP per evaluation."""

    priority = 'LOWEST'

    def __init__(self):
        self.maps, self.choices = [], []

    def after_val_epoch(self, runner, metrics=None):
        self.maps.append(metrics['lt/mAP'])
        hook = next(
            h for h in runner.hooks if isinstance(h, ExpertCombinationHook)
        )
        self.choices.append(hook.last_results)
        hook.last_results = None

    def after_test_epoch(self, runner, metrics=None):
        self.maps.append(metrics['lt/mAP'])


def auto_cfg(root, work, **kwargs):
    cfg = make_cfg(root, work, val_interval=1, **kwargs)
    cfg['model']['cls_head']['inference'] = 'auto_group'
    cfg['custom_hooks'].append(dict(type='ExpertCombinationHook'))
    return cfg


@pytest.fixture(scope='module')
def auto_run(tmp_path_factory):
    root = write_data(str(tmp_path_factory.mktemp('data')))
    work = str(tmp_path_factory.mktemp('auto'))
    rec = ValMaps()
    run(auto_cfg(root, work), rec)
    return root, work, rec


def test_choice_is_made_on_validation_and_checkpointed(auto_run):
    root, work, rec = auto_run
    ck = [weights(osp.join(work, f'epoch_{e}.pth')) for e in (1, 2, 3, 4)]
    # chosen before each stage-2 validation (val_interval=1), never in
    # stage 1
    assert [int(c['cls_head.combination_chosen']) for c in ck] == [0, 0, 1, 1]
    assert [c is None for c in rec.choices] == [True, True, False, False]
    for epoch in (2, 3):
        result = rec.choices[epoch][0]
        # the validation after the choice scores with it
        assert rec.maps[epoch] == pytest.approx(
            result['chosen_map']['mAP'], abs=1e-12
        )
        # expert 1 alone (candidate 0) is stage 1's validation mAP, and the
        # choice is never below it
        assert result['candidates'][0] == ('logit', 0.0)
        assert result['candidate_map']['mAP'][0] == pytest.approx(
            rec.maps[1], abs=1e-12
        )
        assert result['chosen_map']['mAP'] >= rec.maps[1]
        # the checkpoint holds the choice
        assert torch.equal(
            ck[epoch]['cls_head.combination_form'], result['form']
        )
        assert torch.equal(
            ck[epoch]['cls_head.combination_value'], result['value']
        )
        assert set(result['chosen']) == {'head', 'medium', 'tail'}


def test_test_run_uses_the_checkpointed_choice(auto_run, tmp_path):
    root, work, rec = auto_run
    cfg = auto_cfg(root, str(tmp_path))
    cfg['test_dataloader'] = copy.deepcopy(cfg['val_dataloader'])
    cfg['test_evaluator'] = cfg['val_evaluator']
    cfg['test_cfg'] = dict(type='TestLoop')
    cfg['load_from'] = osp.join(work, 'epoch_4.pth')
    runner = Runner.from_cfg(cfg)
    test = ValMaps()
    runner.register_hook(test)
    runner.test()
    # the test list is the validation list here: same mAP as the final
    # validation, which scored with the chosen combination
    assert test.maps == [pytest.approx(rec.maps[-1], abs=1e-12)]


@pytest.fixture(scope='module')
def best_run(tmp_path_factory):
    """Stage 2 of 4 epochs, validated after each, with the shipped
    checkpoint hook (``configs/_base_/default_runtime.py``)."""
    root = write_data(str(tmp_path_factory.mktemp('data')))
    work = str(tmp_path_factory.mktemp('best'))
    cfg = auto_cfg(root, work)
    cfg['train_cfg']['stage2'].update(max_epochs=4, milestones=[3])
    cfg['default_hooks']['checkpoint'] = dict(
        type='StageCheckpointHook',
        interval=1,
        save_best='auto',
        max_keep_ckpts=3,
    )
    rec = ValMaps()
    runner = run(cfg, rec)
    return root, work, rec, runner


def test_choice_leaves_the_random_states_alone(best_run):
    """The choice's validation pass draws from torch's generator (the
    loader's seed); it must not move the training stream, which
    ``RNGStateHook`` captured before it (exact resume, issue 22)."""
    import random

    import numpy as np

    runner = best_run[3]
    hook = next(
        h for h in runner.hooks if isinstance(h, ExpertCombinationHook)
    )
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy())
    before_py = random.getstate()
    assert hook.choose(runner)[0]['chosen']
    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before_py
    # the pass itself draws: without the restore the state would differ
    iter(runner.val_loop.dataloader)
    assert not torch.equal(torch.get_rng_state(), before[0])


def test_best_stage2_checkpoint_holds_its_own_epochs_choice(
    best_run, tmp_path
):
    """Issue 17: ``best_stage2`` is the stage-2 epoch of best validation
    mAP *under its own choice* and carries that choice (not the last
    epoch's), and a test run of it scores with that choice."""
    from meid_mmaction.engine.hooks.stage_checkpoint_hook import (
        find_checkpoint,
    )

    root, work, rec, _ = best_run
    # validations after epochs 1-2 (stage 1), 3-6 (stage 2, each chosen)
    assert [c is None for c in rec.choices] == [True, True] + [False] * 4
    stage2 = rec.maps[2:6]
    for m, c in zip(stage2, rec.choices[2:6]):
        assert m == pytest.approx(c[0]['chosen_map']['mAP'], abs=1e-12)
    best = int(max(range(4), key=lambda i: (stage2[i], -i)))
    path = find_checkpoint(work, 'best_stage2')
    assert path.endswith(f'_stage2_epoch_{best + 3}.pth')
    state = weights(path)
    chosen = rec.choices[2 + best][0]
    assert torch.equal(state['cls_head.combination_form'], chosen['form'])
    assert torch.equal(state['cls_head.combination_value'], chosen['value'])
    # here the best is stage-2 epoch 3 of 4 (validation mAP 0.6246; epoch
    # 4 ties and does not replace it), chosen before its validation
    assert best == 2
    cfg = auto_cfg(root, str(tmp_path))
    cfg['test_dataloader'] = copy.deepcopy(cfg['val_dataloader'])
    cfg['test_evaluator'] = cfg['val_evaluator']
    cfg['test_cfg'] = dict(type='TestLoop')
    cfg['load_from'] = path
    runner = Runner.from_cfg(cfg)
    test = ValMaps()
    runner.register_hook(test)
    runner.test()
    assert test.maps == [pytest.approx(stage2[best], abs=1e-12)]


def test_resume_before_the_last_choice_repeats_it(auto_run, tmp_path):
    root, work, _ = auto_run
    cfg = auto_cfg(root, str(tmp_path))
    cfg.update(resume=True, load_from=osp.join(work, 'epoch_3.pth'))
    run(cfg)
    resumed = weights(osp.join(str(tmp_path), 'epoch_4.pth'))
    full = weights(osp.join(work, 'epoch_4.pth'))
    for key in ('combination_form', 'combination_value', 'combination_chosen'):
        assert torch.equal(resumed[f'cls_head.{key}'], full[f'cls_head.{key}'])


N, C, V = 11, 4, 2
GROUPS = dict(head=[0, 1], medium=[2], tail=[3])


def _batches(rows):
    """Outputs and recorded ``(Y, Y_F)`` of ``rows``, two videos a batch."""
    from mmaction.structures import ActionDataSample

    from meid_mmaction.utils import set_gt_label

    gen = torch.Generator().manual_seed(0)
    y = torch.randn(N, V, C, generator=gen)
    y_f = torch.randn(N, V, C, generator=gen)
    labels = (torch.rand(N, C, generator=gen) < 0.4).float()
    labels[0] = 1.0
    for i in range(0, len(rows), 2):
        idx = rows[i : i + 2]
        outputs = [set_gt_label(ActionDataSample(), labels[j]) for j in idx]
        yield outputs, [(y[idx].reshape(-1, C), y_f[idx].reshape(-1, C))]


def _choose(rows):
    from mmaction.registry import MODELS

    from meid_mmaction.engine.hooks.expert_combination_hook import (
        gather_and_choose,
    )

    head = MODELS.build(
        dict(
            type='MEIDHead',
            num_classes=C,
            in_channels=3,
            inference='auto_group',
        )
    )
    records = []
    for outputs, experts in _batches(rows):
        records += ExpertCombinationHook._pack(outputs, experts, [head])
    results = gather_and_choose([head], records, N, GROUPS, 'cpu')
    return results, head.state_dict()


def _gloo_choose(rank, out_dir):
    import torch.distributed as tdist

    tdist.init_process_group(
        'gloo',
        init_method=f'file://{osp.join(out_dir, "rendezvous")}',
        rank=rank,
        world_size=2,
    )
    try:
        # DefaultSampler(shuffle=False)'s share of rank r, padded to 12
        rows = (list(range(N)) + [0])[rank::2]
        results, state = _choose(rows)
        torch.save((results, state), osp.join(out_dir, f'rank{rank}.pt'))
    finally:
        tdist.destroy_process_group()


def test_two_gloo_ranks_choose_as_one(tmp_path, spawn):
    expected, expected_state = _choose(list(range(N)))
    spawn(_gloo_choose, args=(str(tmp_path),), nprocs=2)
    for rank in range(2):
        results, state = torch.load(
            tmp_path / f'rank{rank}.pt', weights_only=False
        )
        assert results[0]['candidate_map'] == expected[0]['candidate_map']
        assert results[0]['chosen'] == expected[0]['chosen']
        for key in ('form', 'value', 'chosen'):
            key = f'combination_{key}'
            assert torch.equal(state[key], expected_state[key]), key
    assert int(expected_state['combination_chosen']) == 1


class _FakeRunner:
    """What the hook reads from a runner, nothing else."""

    def __init__(self, head, epoch, meta=None):
        from types import SimpleNamespace

        self.model = head
        self.epoch = epoch
        self.val_loop = object()
        self.train_loop = SimpleNamespace(
            max_epochs=4, validates_after=lambda done: done in (2, 3, 4)
        )
        self.train_dataloader = SimpleNamespace(
            dataset=SimpleNamespace(metainfo=meta or {})
        )


def _auto_head(mode='auto', stage=2):
    from mmaction.registry import MODELS

    head = MODELS.build(
        dict(type='MEIDHead', num_classes=C, in_channels=3, inference=mode)
    )
    head.set_train_stage(stage)
    return head


@pytest.mark.parametrize(
    'at_every_val, stage, epoch, chooses',
    [
        (True, 2, 2, True),  # stage-2 epoch 3, validated
        (False, 2, 2, False),  # ... only the last epoch with False
        (False, 2, 3, True),  # the last epoch
        (True, 1, 3, False),  # stage 1 (stages=(1,)): nothing to combine
    ],
)
def test_when_the_hook_chooses(
    monkeypatch, at_every_val, stage, epoch, chooses
):
    hook = ExpertCombinationHook(at_every_val=at_every_val)
    calls = []
    monkeypatch.setattr(hook, 'choose', lambda r, h, tag='': calls.append(tag))
    meta = dict(class_groups=GROUPS)
    hook.after_train_epoch(_FakeRunner(_auto_head(stage=stage), epoch, meta))
    assert calls == ([f'epoch {epoch + 1}'] if chooses else [])


def test_hook_errors_and_missing_groups():
    with pytest.raises(ValueError, match='head_thr and tail_thr must be'):
        ExpertCombinationHook(head_thr=10)
    hook = ExpertCombinationHook()
    # 'auto' reports groups when there are any, needs none
    head = _auto_head('auto')
    assert hook._resolve_groups(_FakeRunner(head, 0), [head]) is None
    head = _auto_head('auto_group')
    with pytest.raises(
        ValueError, match="has no class counts.*'class_groups'"
    ):
        hook.before_train(_FakeRunner(head, 0))
    groups = hook._resolve_groups(
        _FakeRunner(head, 0, dict(class_groups=GROUPS)), [head]
    )
    assert groups == GROUPS
    with pytest.raises(ValueError, match=r'recorded 3 rows for a batch of 2'):
        ExpertCombinationHook._pack(
            [None, None], [(torch.zeros(3, C), torch.zeros(3, C))], [head]
        )
