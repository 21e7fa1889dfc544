"""docs/reproduction.md is generated from the configs and cannot go stale:
regenerated here, every difference from the paper / release has a reason,
every config naming a published row is in it, and the released-run command
lines of the MEID rows give the released values."""

import argparse
import glob
import importlib.util
import os.path as osp
import re

import pytest
from mmengine.config import Config, DictAction

import meid_mmaction  # noqa: F401
from meid_mmaction.utils.data_keys import apply_data_keys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(ROOT, 'tools', 'analysis', 'recipe_table.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('recipe_table', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def values(tool):
    return {c: tool.load_values(c) for c in tool.SOURCES}


@pytest.fixture(scope='module')
def generated(tool, values):
    return tool.render(values), tool.check_reasons(values)


def test_page_is_current_and_every_difference_has_a_reason(generated):
    page, problems = generated
    assert problems == []
    with open(
        osp.join(ROOT, 'docs', 'reproduction.md'), encoding='utf-8'
    ) as f:
        assert f.read() == page, (
            'docs/reproduction.md is stale: run '
            'python tools/analysis/recipe_table.py'
        )


def test_every_published_row_config_is_in_the_table(tool):
    claims = set()
    for path in glob.glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True
    ):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if re.search(r'Published \(|Target row \(', text):
            claims.add(osp.relpath(path, ROOT))
    assert claims == set(tool.SOURCES)


def test_a_config_change_is_caught(tool, values, generated):
    config = 'configs/baselines/cbs_nonlinear_videolt_r101.py'
    values = dict(values)
    values[config] = dict(values[config], loss='BCE; mean', lr='1e-3')
    problems = tool.check_reasons(values)
    assert len(problems) == 2
    assert problems[0].startswith(f"{config}: lr = '1e-3' differs")
    assert "loss = 'BCE; mean' differs" in problems[1]
    assert tool.render(values) != generated[0]


@pytest.mark.parametrize(
    'config',
    [
        'configs/meid_videolt_r101.py',
        'configs/meid_charadeslt_r101.py',
    ],
)
def test_released_run_command_gives_the_released_values(tool, config):
    devices, options = tool.RELEASED_RUNS[config]
    cfg = Config.fromfile(osp.join(ROOT, config))
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    # as tools/train.py parses them
    args = parser.parse_args(['--cfg-options'] + options)
    cfg.merge_from_dict(args.cfg_options)
    apply_data_keys(cfg)
    ours = tool.config_values(cfg)
    released = tool.SOURCES[config]['fields']
    for key in (
        'lr',
        'epochs',
        'lr_steps',
        'warm_epoch',
        'train_frames',
        'test_frames',
        'sampler',
        'augment',
        'loss',
        'clip',
        'sync_bn',
        'meid',
    ):
        assert ours[key] == released[key]['released'][0], key
    per_device = released['batch']['released'][0].split(' x ')[0]
    assert ours['batch'] == f'{per_device} x 1'
    assert (
        released['batch']['released'][0]
        .split(' x ')[1]
        .startswith(str(devices))
    )
    # FrameStack takes the head's num_classes (FeatureRecognizer)
    assert 'num_classes' not in cfg.model.data_preprocessor.blending
