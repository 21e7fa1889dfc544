"""Every ```python block of README.md and docs/*.md runs as written.

A block with an ``import`` is a script: it runs in a directory holding a copy
of ``configs/``. Any other block is a config: written to the path its first
line names (``# configs/<name>.py``), or else appended to a child of
``configs/nonlinear_synthetic.py``; it is read like ``tools/train.py`` reads
it, a tiny dataset is written where its feature loaders point, and the
runner builds its model, every dataloader (one batch each) and evaluator.
"""

import glob
import os
import os.path as osp
import re
import shutil

import numpy as np
import pytest
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import meid_mmaction  # noqa: F401
from meid_mmaction.utils.data_keys import _is_feature_dataset, apply_data_keys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
DOCS = [osp.join(ROOT, 'README.md')] + sorted(
    glob.glob(osp.join(ROOT, 'docs', '*.md'))
)
FENCE = re.compile(r'^( *)```python\n(.*?)^\1```', re.M | re.S)
PATH = re.compile(r'^# (configs/[\w/.-]+\.py)\s*$')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def extract_snippets(path):
    """``(line, code)`` of every ```python block (indent removed)."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    out = []
    for m in FENCE.finditer(text):
        indent = len(m.group(1))
        code = (
            '\n'.join(line[indent:] for line in m.group(2).splitlines()) + '\n'
        )
        out.append((text.count('\n', 0, m.start()) + 1, code))
    return out


SNIPPETS = [
    (osp.relpath(doc, ROOT), line, code)
    for doc in DOCS
    for line, code in extract_snippets(doc)
]


def test_snippets_found():
    assert len(SNIPPETS) >= 6
    assert any('ClassBalancedSampler' in c for _, _, c in SNIPPETS)
    # indented blocks (in list items) are found and dedented
    doc = '- item\n  ```python\n  a = 1\n  ```\n```python\nb = 2\n```\n'
    assert [c for _, c in FENCE.findall(doc)] == ['  a = 1\n', 'b = 2\n']


def _write_dataset(ds: dict, frames: int) -> None:
    """A tiny dataset where ``ds`` points: every class once per split."""
    root = ds.get('data_root') or ''
    classes = ds.get('num_classes') or 4
    dim = ds.get('feat_dim') or 8
    prefix = ds['data_prefix']
    feat_dir = osp.join(
        root, prefix['feat'] if isinstance(prefix, dict) else prefix
    )
    os.makedirs(feat_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    tag = osp.splitext(osp.basename(ds['ann_file']))[0]
    lines = []
    for c in range(classes):
        vid = f'{tag}_{c}'
        lines.append(f'{vid} {c},{(c + 1) % classes}\n')
        np.save(
            osp.join(feat_dir, f'{vid}.npy'),
            rng.standard_normal((frames, dim)).astype(np.float32),
        )
    for name in (ds['ann_file'], ds.get('train_ann_file')):
        if name and not osp.isfile(osp.join(root, name)):
            with open(osp.join(root, name), 'w') as f:
                f.writelines(lines)
    if ds.get('count_file'):
        with open(osp.join(root, ds['count_file']), 'w') as f:
            f.writelines(f'class_{c} {c} 2\n' for c in range(classes))


def build_config_snippet(code: str, tmp_path) -> Config:
    """Write ``code`` as a config under ``tmp_path`` (the cwd), read it as
    the tools do and build its model, dataloaders and evaluators."""
    m = PATH.match(code.splitlines()[0])
    if m:
        path = tmp_path / m.group(1)
    else:
        path = tmp_path / 'configs' / 'snippet.py'
        if '_base_' not in code:
            code = "_base_ = ['nonlinear_synthetic.py']\n" + code
    path.write_text(code)
    cfg = Config.fromfile(str(path))
    apply_data_keys(cfg)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    MODELS.build(cfg.model)
    frames = max(
        cfg.get('num_frames') or 0,
        cfg.get('test_clip_len') or 0,
        cfg.get('train_clip_len') or 0,
        8,
    )
    for name in LOADERS:
        loader = cfg.get(name)
        if loader and _is_feature_dataset(loader.dataset.type):
            _write_dataset(loader.dataset, frames)
            loader.update(num_workers=0, persistent_workers=False)
            loader.dataset.serialize_data = False  # speed only
            batch = next(iter(Runner.build_dataloader(loader)))
            assert len(batch['inputs']) > 0
    for name in ('val_evaluator', 'test_evaluator'):
        if cfg.get(name):
            Evaluator(cfg[name])
    return cfg


@pytest.mark.parametrize(
    'doc,line,code', SNIPPETS, ids=[f'{d}:{n}' for d, n, _ in SNIPPETS]
)
def test_snippet_runs(doc, line, code, tmp_path, monkeypatch):
    shutil.copytree(osp.join(ROOT, 'configs'), tmp_path / 'configs')
    monkeypatch.chdir(tmp_path)
    if re.search(r'^\s*(import|from) \S+', code, re.M):
        exec(compile(code, f'{doc}:{line}', 'exec'), {})
    else:
        build_config_snippet(code, tmp_path)
