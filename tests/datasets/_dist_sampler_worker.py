"""Helper for ``test_samplers.py``: build a sampler in 2 real gloo ranks.

``run(rank, LABELS_JSON, OUT_DIR, TYPE, EPOCH)`` is started by
``torch.multiprocessing.spawn``: each rank joins a gloo process group (file
rendezvous in ``OUT_DIR``), builds ``TYPE`` through ``DATA_SAMPLERS`` with
``seed=None`` (so the seed is synced from rank 0), sets ``EPOCH`` and writes
``OUT_DIR/rank{r}.json`` with its seed, world size, ``len()`` and indices.
"""

import json
import os.path as osp

import torch.distributed as dist

WORLD_SIZE = 2


def run(rank, labels_path, out_dir, sampler_type, epoch):
    # a file rendezvous: no TCP port that another process could take
    dist.init_process_group(
        'gloo',
        init_method=f'file://{osp.join(out_dir, "rendezvous")}',
        rank=rank,
        world_size=WORLD_SIZE,
    )
    try:
        from mmaction.registry import DATA_SAMPLERS

        import meid_mmaction  # noqa: F401  (registers the samplers)
        from meid_mmaction.datasets.label_list_dataset import (
            LabelListDataset,
        )

        with open(labels_path) as f:
            dataset = LabelListDataset(json.load(f))
        sampler = DATA_SAMPLERS.build(
            dict(type=sampler_type),
            default_args=dict(dataset=dataset, seed=None),
        )
        sampler.set_epoch(epoch)
        out = dict(
            rank=sampler.rank,
            world_size=sampler.world_size,
            seed=sampler.seed,
            len=len(sampler),
            indices=list(sampler),
        )
        with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(out, f)
    finally:
        dist.destroy_process_group()
