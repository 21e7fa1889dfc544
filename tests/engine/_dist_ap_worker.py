"""Helper for ``test_frame_stack_ap_hook_dist.py``: FrameStackAPHook in 2
real gloo ranks with different numbers of training rows.

``run(rank, OUT_DIR)`` runs in each of the 2 processes. Rank ``r`` records rows
``ROWS[r]`` of a fixed score / label matrix through the hook and writes the
class AP it ends with to ``OUT_DIR/rank{r}.json``.
"""

import json
import os.path as osp

import torch
import torch.distributed as dist

ROWS = (slice(0, 5), slice(5, 12))  # 5 and 7 rows: unequal shares


def data():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(12, 3, generator=gen)
    targets = (torch.rand(12, 3, generator=gen) < 0.5).float()
    targets[0] = torch.tensor([1.0, 1.0, 1.0])
    return logits, targets


def run(rank, out_dir):
    dist.init_process_group(
        'gloo',
        init_method=f'file://{osp.join(out_dir, "rendezvous")}',
        rank=rank,
        world_size=2,
    )
    try:
        work(rank, out_dir)
    finally:
        # collect what references the group first (else gloo may abort
        # at interpreter exit)
        from meid_mmaction.utils.distributed import destroy_distributed

        destroy_distributed()


def work(rank, out_dir):
    """Record this rank's rows through the hook; write the AP."""
    from mmaction.registry import MODELS

    import meid_mmaction  # noqa: F401
    from meid_mmaction.engine.hooks import FrameStackAPHook

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.loss_cls = MODELS.build(dict(type='MultiLabelFocalLoss'))
            self.fs = MODELS.build(dict(type='FrameStack', num_classes=3))

    runner = type('R', (), {})()
    runner.model = Model()
    runner.epoch = 0
    hook = FrameStackAPHook()
    logits, targets = data()
    hook.before_train_epoch(runner)
    rows = ROWS[rank]
    runner.model.loss_cls(logits[rows], targets[rows])
    hook.after_train_epoch(runner)
    with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(runner.model.fs.class_ap.tolist(), f)
