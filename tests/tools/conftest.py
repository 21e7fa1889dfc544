"""Shared helpers of the benchmark-tool tests."""

import importlib
import os.path as osp
import sys

import pytest

BENCH = osp.abspath(
    osp.join(osp.dirname(__file__), '..', '..', 'tools', 'benchmark')
)


def _bench_tool(name):
    """``tools/benchmark/<name>.py``, imported as its own directory sees it
    (``study`` is a sibling module)."""
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)
    return importlib.import_module(name)


def _tiny_bench_data(root):
    """6 classes, 8-d features, 6-8 frames at ``root``: runs of about a
    second. Returns ``str(root)``."""
    from meid_datatools.synthetic import generate_synthetic_lt

    generate_synthetic_lt(
        str(root),
        seed=0,
        num_classes=6,
        max_count=60,
        min_count=2,
        val_max_count=6,
        test_max_count=6,
        eval_min_count=2,
        feat_dim=8,
        min_frames=6,
        max_frames=8,
        min_seg_frames=2,
        family_size=2,
        head_thr=20,
        tail_thr=4,
        min_imbalance_ratio=20.0,
    )
    return str(root)


@pytest.fixture(scope='session')
def bench_tool():
    """``name -> module`` of ``tools/benchmark``."""
    return _bench_tool


@pytest.fixture(scope='session')
def tiny_bench_data():
    """``root -> str(root)``: write the tiny synthetic dataset there."""
    return _tiny_bench_data
