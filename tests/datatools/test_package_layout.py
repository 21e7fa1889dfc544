"""The offline data tools (``meid_datatools``) stay out of the runtime.

``meid_mmaction`` (what training imports) must not import
``meid_datatools``; ``meid_datatools`` builds on ``meid_mmaction``.
"""

import ast
import os
import os.path as osp
import sys

import pytest

ROOT = osp.join(osp.dirname(__file__), '..', '..')
SUBPACKAGES = ('charades_lt', 'extract', 'packing', 'synthetic')


def _py_files(package):
    for dirpath, _, names in os.walk(osp.join(ROOT, package)):
        for name in sorted(names):
            if name.endswith('.py'):
                yield osp.join(dirpath, name)


def _imported_modules(path):
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_runtime_sources_do_not_import_datatools():
    bad = [
        (osp.relpath(path, ROOT), mod)
        for path in _py_files('meid_mmaction')
        for mod in _imported_modules(path)
        if mod.split('.')[0] == 'meid_datatools'
    ]
    assert bad == []


def test_importing_the_runtime_loads_no_datatools(fresh_import):
    # a fresh interpreter imports meid_mmaction and its subpackages
    assert fresh_import[0].splitlines()[0] == '[]'


@pytest.mark.parametrize('name', SUBPACKAGES)
def test_subpackage_exports_all_names(name):
    namespace = {}
    exec(f'from meid_datatools.{name} import *', namespace)
    module = sys.modules[f'meid_datatools.{name}']
    assert module.__all__
    assert [n for n in module.__all__ if n not in namespace] == []
