"""StageCheckpointHook: best overall, best per stage, last; find_checkpoint
and tools/test.py's checkpoint names."""

import copy
import os
import os.path as osp

import pytest
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.runner import Runner
from test_two_stage_loop import make_cfg, write_data

from meid_mmaction.engine.hooks import find_checkpoint
from meid_mmaction.utils.cli import resolve_checkpoint

# validation after epoch 1 (stage 1) and 2, 3 (stage 2): stage 2 does not
# beat stage 1's best, so the best of the run is a stage-1 checkpoint
SCORES = [0.7, 0.6, 0.65]


@METRICS.register_module(force=True)
class ScriptedMAP(BaseMetric):
    """Returns ``SCORES[i]`` at its i-th evaluation (counted per class)."""

    default_prefix = 'scripted'
    calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.append(0)

    def compute_metrics(self, results) -> dict:
        score = SCORES[type(self).calls]
        type(self).calls += 1
        return dict(mAP=score)


def _cfg(root, work_dir, **hook):
    cfg = make_cfg(
        root,
        work_dir,
        val_interval=1,
        stage1=dict(max_epochs=1, milestones=[]),
        stage2=dict(max_epochs=2, lr=1e-3, milestones=[]),
    )
    cfg['val_evaluator'] = dict(type='ScriptedMAP')
    cfg['default_hooks']['checkpoint'] = dict(
        type='StageCheckpointHook',
        interval=1,
        save_best='auto',
        max_keep_ckpts=1,
        **hook,
    )
    cfg['log_level'] = 'INFO'
    return cfg


def _best_files(work_dir):
    return sorted(f for f in os.listdir(work_dir) if f.startswith('best_'))


def test_best_overall_per_stage_and_last(tmp_path, capsys):
    root = write_data(str(tmp_path / 'data'))
    work_dir = str(tmp_path / 'work')
    ScriptedMAP.calls = 0
    runner = Runner.from_cfg(copy.deepcopy(_cfg(root, work_dir)))
    runner.train()
    assert _best_files(work_dir) == [
        'best_scripted_mAP_epoch_1.pth',
        'best_scripted_mAP_stage1_epoch_1.pth',
        'best_scripted_mAP_stage2_epoch_3.pth',
    ]
    assert find_checkpoint(work_dir, 'best') == osp.join(
        work_dir, 'best_scripted_mAP_epoch_1.pth'
    )
    assert find_checkpoint(work_dir, 'best_stage1').endswith(
        'stage1_epoch_1.pth'
    )
    assert find_checkpoint(work_dir, 'best_stage2').endswith(
        'stage2_epoch_3.pth'
    )
    assert find_checkpoint(work_dir, 'last') == osp.join(
        work_dir, 'epoch_3.pth'
    )
    assert resolve_checkpoint('best_stage2', work_dir).endswith(
        'stage2_epoch_3.pth'
    )
    hub = runner.message_hub
    assert hub.get_info('best_stage') == 1
    assert hub.get_info('best_score_stage2') == 0.65
    text = capsys.readouterr().out
    assert 'The best checkpoint of stage 2 with 0.6000' in text
    assert 'best_scripted_mAP_stage2_epoch_2.pth' in text
    assert '(0.7000, stage 1)' in text
    assert 'The previous best checkpoint' not in text  # overall: epoch 1
    assert 'best_stage2: ' in text and '(0.6500)' in text

    # the epoch checkpoint carries the per-stage bests (for --resume)
    import torch

    ckpt = torch.load(osp.join(work_dir, 'epoch_3.pth'), weights_only=False)
    info = ckpt['message_hub']['runtime_info']
    assert info['best_ckpt_stage2'].endswith('stage2_epoch_3.pth')
    assert info['best_score_stage1'] == 0.7

    with pytest.raises(
        ValueError,
        match=r"checkpoint 'best_stage3': "
        'expected a file or one of',
    ):
        find_checkpoint(work_dir, 'best_stage3')
    with pytest.raises(
        FileNotFoundError, match='checkpoint not found: nope.pth'
    ):
        resolve_checkpoint('nope.pth', work_dir)
    with pytest.raises(
        FileNotFoundError, match='checkpoint best: expected one match'
    ):
        find_checkpoint(str(tmp_path), 'best')


def test_without_per_stage(tmp_path):
    root = write_data(str(tmp_path / 'data'))
    work_dir = str(tmp_path / 'work')
    ScriptedMAP.calls = 0
    cfg = _cfg(root, work_dir, save_best_per_stage=False)
    Runner.from_cfg(copy.deepcopy(cfg)).train()
    assert _best_files(work_dir) == ['best_scripted_mAP_epoch_1.pth']
