"""FrameStackAPHook gathers every rank's training rows (2 gloo ranks)."""

import json
import os.path as osp
import sys

import numpy as np
import torch
from sklearn.metrics import average_precision_score

HERE = osp.dirname(osp.abspath(__file__))


def test_ap_is_measured_on_all_ranks_rows(tmp_path, spawn):
    sys.path.insert(0, HERE)
    try:
        import _dist_ap_worker as worker
    finally:
        sys.path.remove(HERE)
    spawn(worker.run, args=(str(tmp_path),), nprocs=2)
    logits, targets = worker.data()
    scores = torch.sigmoid(logits).half().float().numpy()
    expected = [
        average_precision_score(targets[:, c], scores[:, c]) for c in range(3)
    ]
    for rank in range(2):
        with open(tmp_path / f'rank{rank}.json') as f:
            np.testing.assert_allclose(json.load(f), expected, rtol=1e-6)
