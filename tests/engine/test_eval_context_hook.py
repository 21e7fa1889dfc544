"""EvalContextHook tells metrics the evaluated list and model;
tools/test.py names the split it evaluated."""

import importlib.util
import os.path as osp
from types import SimpleNamespace

from mmengine.config import Config

from meid_mmaction.engine.hooks import EvalContextHook

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


class _Metric:
    def __init__(self):
        self.context = None

    def set_eval_context(self, **kwargs):
        self.context = kwargs


def _loop(ann_file, metric, wrapped=False):
    dataset = SimpleNamespace(ann_file=ann_file)
    if wrapped:
        dataset = SimpleNamespace(dataset=dataset, times=2)
    return SimpleNamespace(
        dataloader=SimpleNamespace(dataset=dataset),
        evaluator=SimpleNamespace(metrics=[metric, object()]),
    )


def _runner(epoch=0, it=0, load_from=None, val=None, test=None):
    return SimpleNamespace(
        epoch=epoch,
        iter=it,
        log_dir='work/20260101',
        cfg=Config(dict(load_from=load_from)),
        val_loop=val,
        test_loop=test,
    )


def test_val_context_during_training():
    metric = _Metric()
    loop = _loop('data/x/validate.lst', metric, wrapped=True)
    EvalContextHook().before_val_epoch(_runner(epoch=3, it=90, val=loop))
    assert metric.context == dict(
        split='validate', tag='epoch_3', out_dir='work/20260101'
    )
    EvalContextHook().before_val_epoch(_runner(epoch=0, it=500, val=loop))
    assert metric.context['tag'] == 'iter_500'


def test_test_context_names_checkpoint_and_list():
    metric = _Metric()
    # the test loop reading the validation list is named after that list
    loop = _loop('data/x/val.lst', metric)
    EvalContextHook().before_test_epoch(
        _runner(load_from='work/epoch_24.pth', test=loop)
    )
    assert metric.context == dict(
        split='val', tag='epoch_24', out_dir='work/20260101'
    )
    # a dataset without a list: the loop's name
    loop = _loop(None, metric)
    EvalContextHook().before_test_epoch(_runner(test=loop))
    assert metric.context['split'] == 'test'
    assert metric.context['tag'] == 'epoch_0'


def _test_tool():
    spec = importlib.util.spec_from_file_location(
        'test_tool', osp.join(REPO, 'tools', 'test.py')
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_test_tool_says_which_split_it_evaluated():
    tool = _test_tool()
    ds = dict(data_root='data/x', ann_file='val.lst')
    cfg = Config(
        dict(
            train_dataloader=dict(dataset=dict(ds, ann_file='train.lst')),
            val_dataloader=dict(dataset=ds),
            test_dataloader=dict(dataset=dict(ds, ann_file='test.lst')),
        )
    )
    runner = _runner(test=_loop('data/x/test.lst', _Metric()))
    assert tool.describe_split(cfg, runner) == 'test split (data/x/test.lst)'
    runner = _runner(test=_loop('data/x/val.lst', _Metric()))
    assert tool.describe_split(cfg, runner) == (
        'val split (data/x/val.lst) -- the same list as val_dataloader: '
        'these are validation results, not test results'
    )
    cfg.val_dataloader.dataset = dict(type='RepeatDataset', dataset=ds)
    assert 'the same list as val_dataloader' in tool.describe_split(
        cfg, runner
    )
