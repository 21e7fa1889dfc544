"""Every config in configs/ builds its model, and a loss and a predict step
run on dummy inputs of the config's shapes."""

import glob
import os.path as osp

import pytest
import torch
from mmaction.registry import LOOPS, MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope

import meid_mmaction  # noqa: F401
from meid_mmaction.utils import get_pred_score, set_gt_label
from meid_mmaction.utils.data_keys import apply_data_keys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', 'configs'))
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, '*.py'))
    + glob.glob(osp.join(ROOT, 'aggregators', '*.py'))
    + glob.glob(osp.join(ROOT, 'baselines', '*.py'))
)


def shrink(cfg):
    """Small sizes for the step test (the structure stays the config's):
    feature configs get 16-d frames and at most 12 classes, aggregators
    4 clusters and 8 hidden channels, so that the 134 M-weight NetVLAD
    projections are not built here (their sizes: test_model_zoo.py)."""
    head = cfg.model.cls_head
    head.num_classes = min(head.num_classes, 12)
    blending = cfg.model.get('data_preprocessor', {}).get('blending')
    if blending:  # MultiLabelMixup / FrameStack
        blending.num_classes = head.num_classes
    if cfg.get('num_classes') is not None:  # the data key agrees
        cfg.num_classes = head.num_classes
    if cfg.model.type != 'FeatureRecognizer':
        return
    head.in_channels = 16
    if head.get('hidden_channels'):
        head.hidden_channels = 16
    if head.get('mlp_channels'):
        head.mlp_channels = 8
    aggs = list(head.get('aggregators') or [])
    if head.get('aggregator'):
        aggs.append(head.aggregator)
    for agg in aggs:
        small = dict(
            num_clusters=4,
            hidden_channels=8,
            groups=4,
            key_channels=4,
            value_channels=4,
        )
        agg.update({k: v for k, v in small.items() if agg.get(k)})


def load_config(path, small=True):
    """A config as the tools see it: ``shrink`` (if ``small``), then the
    data keys copied into the loaders (``SampleFeatureFrames.clip_len``
    comes from ``train_clip_len`` there)."""
    cfg = Config.fromfile(path)
    if small:
        shrink(cfg)
    apply_data_keys(cfg)
    return cfg


def _find(pipeline, type_name):
    for t in pipeline:
        if t['type'] == type_name:
            return t
    raise AssertionError(f'no {type_name} in the train pipeline')


def dummy_inputs(cfg, batch):
    """``[B, 1, N, D]`` features or ``[B, N, 3, 32, 32]`` frames."""
    pipeline = cfg.train_dataloader.dataset.pipeline
    head = cfg.model.cls_head
    if cfg.model.type == 'Recognizer2D':
        frames = _find(pipeline, 'SampleFrames')['num_clips']
        return torch.rand(batch, frames, 3, 32, 32) * 255
    frames = _find(pipeline, 'SampleFeatureFrames')['clip_len']
    return torch.randn(batch, 1, frames, head.in_channels)


def test_configs_found():
    names = {osp.basename(p) for p in CONFIGS}
    for name in (
        'meid_videolt_r101.py',
        'meid_videolt_r50.py',
        'meid_videolt_tsm_r50.py',
        'meid_charadeslt_r101.py',
        'meid_charadesegolt_r101.py',
        'meid_synthetic.py',
        'meid_r50_videodataset_example.py',
        'meid_small_data_template.py',
    ):
        assert name in names


def test_small_data_template_is_the_demo_recipe_without_netvlad():
    """The small-data template (docs/custom_dataset.md) trains as
    ``meid_synthetic.py`` does (the schedule, its lr and the model whose
    demo results the README gives), not as the full recipe."""
    small = load_config(osp.join(ROOT, 'meid_small_data_template.py'), False)
    demo = load_config(osp.join(ROOT, 'meid_synthetic.py'), False)
    full = load_config(osp.join(ROOT, 'meid_videolt_r101.py'), False)
    assert small.model.cls_head.get('aggregator') is None
    assert full.model.cls_head.aggregator.type == 'NetVLAD'
    head = dict(small.model.cls_head, num_classes=50, in_channels=96)
    assert head == demo.model.cls_head
    assert small.train_cfg == demo.train_cfg
    assert small.train_cfg.stage1.max_epochs == 12
    assert small.train_cfg.stage1.lr == 10 * full.train_cfg.stage1.lr
    assert small.train_cfg.stage2.lr == 10 * full.train_cfg.stage2.lr
    assert small.optim_wrapper == demo.optim_wrapper
    assert small.train_dataloader.batch_size == 64
    assert demo.train_dataloader.batch_size == 64
    for key in ('train_clip_len', 'test_clip_len', 'head_thr', 'tail_thr'):
        assert small[key] == demo[key], key


def step_data(cfg, model, batch):
    """A training batch for ``model`` of ``cfg`` (before the data
    preprocessor), and what ``LongTailLossHook`` hands over at the start of
    training (class counts and groups) set on its modules.

    Sample ``i`` has classes ``i`` and ``C - 1 - i``; with a resampling
    ``label_mask`` it was drawn through class ``i``.
    """
    num_classes = cfg.model.cls_head.num_classes
    label_mask = cfg.train_dataloader.sampler.get('label_mask', False)
    data_samples = []
    for i in range(batch):
        target = torch.zeros(num_classes)
        target[[i, num_classes - 1 - i]] = 1.0
        data_samples.append(set_gt_label(ActionDataSample(), target))
        if label_mask:
            data_samples[-1].set_metainfo(dict(drawn_class=i))
    groups = dict(head=[0, 1], medium=[2], tail=[3, 4])
    for m in model.modules():
        if hasattr(m, 'set_class_counts'):
            m.set_class_counts([100 // (c + 1) for c in range(num_classes)])
        if hasattr(m, 'set_class_groups'):
            m.set_class_groups(groups)
    return dict(
        inputs=list(dummy_inputs(cfg, batch)), data_samples=data_samples
    )


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_steps(path):
    cfg = load_config(path)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    assert LOOPS.get(cfg.train_cfg.get('type', 'EpochBasedTrainLoop'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    num_classes = cfg.model.cls_head.num_classes
    data = model.data_preprocessor(step_data(cfg, model, 2), training=True)
    head = model.cls_head
    stages = [1]
    if hasattr(head, 'set_train_stage'):
        stages = [1, 2]
    for stage in stages:
        if hasattr(head, 'set_train_stage'):
            head.set_train_stage(stage)
        model.train()
        losses = model(**data, mode='loss')
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        assert torch.isfinite(total), (path, stage, losses)
        total.backward()
        model.zero_grad()
        model.eval()
        with torch.no_grad():
            preds = model(**data, mode='predict')
        for p in preds:
            score = get_pred_score(p)
            assert score.shape == (num_classes,)
            assert ((score >= 0) & (score <= 1)).all()


BASELINES = sorted(glob.glob(osp.join(ROOT, 'baselines', '*.py')))
ROWS = (
    'bce',
    'focal',
    'cb_loss',
    'ldam_drw',
    'eql',
    'cbs',
    'srs',
    'mixup',
    'framestack',
)


def test_every_baseline_row_has_a_config_stating_its_target():
    names = {osp.basename(p) for p in BASELINES}
    for row in ROWS:
        for data in ('videolt_r101', 'videolt_r50', 'charadeslt_r101'):
            assert f'{row}_nonlinear_{data}.py' in names
    for path in BASELINES:
        with open(path) as f:
            text = ' '.join(f.read().lower().split())
        assert 'published' in text, path  # names its target (or none)
        cfg = Config.fromfile(path)
        apply_data_keys(cfg)
        feat = cfg.train_dataloader.dataset.data_prefix['feat']
        if '_r50' in path or '_r101' in path:
            assert feat == (
                'features/ResNet50' if '_r50' in path else 'features/ResNet101'
            ), (path, feat)
        sampler = cfg.train_dataloader.sampler
        if osp.basename(path).startswith(('cbs_', 'srs_')):
            assert sampler.get('label_mask') is True, path
        blending = cfg.model.get('data_preprocessor', {}).get('blending')
        if blending:  # its own C, or the head's (FeatureRecognizer)
            c = cfg.model.cls_head.num_classes
            assert blending.get('num_classes', c) == c


def test_nonlinear_rows_are_a_method_on_a_dataset():
    """Each nonlinear baseline row lists its method's file of
    configs/_base_/methods/ (where the method's change is written, once)
    and a dataset base; its own body sets only what is per row (the
    Charades num_classes, the CBS / SRS sampler)."""
    import ast

    datasets = {
        'videolt_r101': 'videolt_features',
        'videolt_r50': 'videolt_r50_features',
        'charadeslt_r101': 'charadeslt_features',
    }
    for row in ROWS:
        for data, dataset in datasets.items():
            path = osp.join(ROOT, 'baselines', f'{row}_nonlinear_{data}.py')
            with open(path, encoding='utf-8') as f:
                body = ast.parse(f.read()).body
            names = {
                node.targets[0].id: node.value
                for node in body
                if isinstance(node, ast.Assign)
            }
            assert ast.literal_eval(names.pop('_base_'))[:2] == [
                f'../_base_/methods/{row}_nonlinear.py',
                f'../_base_/datasets/{dataset}.py',
            ], path
            assert set(names) <= {'model', 'train_dataloader'}, path
            assert ('model' in names) == (data == 'charadeslt_r101'), path
            assert ('train_dataloader' in names) == (row in ('cbs', 'srs'))
