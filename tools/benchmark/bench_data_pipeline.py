"""Training data-pipeline throughput: per-file .npy vs packed stores.

Builds a synthetic VideoLT-shaped data set (``[150, 2048]`` float32 per
video) as per-file ``.npy``, then packs it as float32 and float16, and
times one training epoch of each through the real pipeline:
``MultiLabelFeatureDataset`` (``OpenFeatures`` -> ``SampleFeatureFrames
(clip_len=60)`` -> ``LoadFeatureFrames`` -> ``PackFeatureInputs``), a
shuffled ``DataLoader`` with 2 workers and mmengine's ``pseudo_collate``.

Before each timed epoch the data set's pages are evicted from the page
cache (``--evict fadvise``: ``posix_fadvise(POSIX_FADV_DONTNEED)`` on every
file of the variant, the default; ``drop``: ``echo 3 >
/proc/sys/vm/drop_caches``, needs root and affects the whole machine;
``none``: warm cache). ``fincore`` (util-linux), if present, reports how
much of the variant is still cached after eviction. Variants are run
round-robin, ``--repeats`` times; the table gives the median.

Usage::

    python tools/benchmark/bench_data_pipeline.py --work-dir WORK \\
        [--num-videos 1000] [--repeats 3] [--evict fadvise] [--keep]

``WORK`` receives about 3 GB per 1,000 videos and is deleted at the end
unless ``--keep`` (an existing data set there of the same shape is
reused).
"""
import argparse
import json
import os
import os.path as osp
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np


def _files(root):
    for dirpath, _, names in os.walk(root):
        for n in names:
            yield osp.join(dirpath, n)


def disk_bytes(root):
    """(apparent bytes, allocated bytes) of every file under ``root``."""
    apparent = allocated = 0
    for p in _files(root):
        st = os.stat(p)
        apparent += st.st_size
        allocated += st.st_blocks * 512
    return apparent, allocated


def cached_bytes(root):
    """Bytes of ``root``'s files in the page cache (``fincore``), or None.
    """
    if shutil.which('fincore') is None:
        return None
    paths = list(_files(root))
    total = 0
    for i in range(0, len(paths), 500):
        out = subprocess.run(
            ['fincore', '--bytes', '--noheadings', '--output', 'RES'] +
            paths[i:i + 500], capture_output=True, text=True)
        if out.returncode != 0:
            return None
        total += sum(int(x) for x in out.stdout.split())
    return total


def evict(root, mode):
    if mode == 'none':
        return
    if mode == 'drop':
        os.sync()
        with open('/proc/sys/vm/drop_caches', 'w') as f:
            f.write('3\n')
        return
    for p in _files(root):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)  # only clean pages can be dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def make_data(work, num_videos, frames, dim, num_classes, seed):
    """Per-file float32 .npy + a training list; reused if already there."""
    from meid_mmaction.datasets.tools.packing import (
        list_source_ids,
        pack_features,
    )
    npy = osp.join(work, 'npy_float32')
    ann = osp.join(work, 'train.lst')
    meta_path = osp.join(work, 'bench_meta.json')
    meta = dict(num_videos=num_videos, frames=frames, dim=dim,
                num_classes=num_classes, seed=seed)
    if osp.isfile(meta_path) and json.load(open(meta_path)) == meta:
        print(f'reusing the data set in {work}')
    else:
        if osp.isdir(work) and os.listdir(work):
            if not osp.isfile(meta_path):
                raise ValueError(
                    f'{work}: not empty and not a data set of this benchmark '
                    f'(no {osp.basename(meta_path)}); use an empty or new '
                    '--work-dir')
            shutil.rmtree(work)  # a data set of another shape: rebuild
        os.makedirs(npy)
        rng = np.random.default_rng(seed)
        t0 = time.time()
        lines = []
        for i in range(num_videos):
            vid = f'video_{i:06d}'
            feats = rng.standard_normal((frames, dim), dtype=np.float32)
            np.save(osp.join(npy, f'{vid}.npy'), feats)
            labels = rng.choice(num_classes, size=1 + (rng.random() < 0.1),
                                replace=False)
            lines.append(f'{vid} {",".join(map(str, sorted(labels)))}\n')
        with open(ann, 'w') as f:
            f.writelines(lines)
        os.sync()
        print(f'wrote {num_videos} .npy files in {time.time() - t0:.1f} s')
        for dtype in ('float32', 'float16'):
            t0 = time.time()
            pack_features(npy, osp.join(work, f'packed_{dtype}'),
                          list_source_ids(npy), dtype=dtype)
            print(f'packed {dtype} in {time.time() - t0:.1f} s')
        with open(meta_path, 'w') as f:
            json.dump(meta, f)
    return ann, {
        'per-file .npy float32': npy,
        'packed float32': osp.join(work, 'packed_float32'),
        'packed float16': osp.join(work, 'packed_float16'),
    }


def time_epoch(ann, feat_dir, args):
    """(videos/s after the first batch, first-batch seconds)."""
    import torch
    from mmengine.dataset import pseudo_collate

    from meid_mmaction.datasets import MultiLabelFeatureDataset
    pipeline = [
        dict(type='OpenFeatures'),
        dict(type='SampleFeatureFrames', clip_len=args.clip_len),
        dict(type='LoadFeatureFrames'),
        dict(type='PackFeatureInputs'),
    ]
    dataset = MultiLabelFeatureDataset(
        ann_file=ann, num_classes=args.num_classes, head_thr=100,
        tail_thr=20, pipeline=pipeline, data_prefix=dict(feat=feat_dir),
        feat_dim=args.dim)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=args.batch_size, shuffle=True,
        num_workers=args.workers, collate_fn=pseudo_collate)
    t0 = time.perf_counter()
    it = iter(loader)
    first = next(it)
    t1 = time.perf_counter()
    n = 0
    for batch in it:
        n += len(batch['inputs'])
    t2 = time.perf_counter()
    assert first['inputs'][0].shape == (1, args.clip_len, args.dim)
    return n / (t2 - t1), t1 - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', required=True,
                        help='where the synthetic data set is written')
    parser.add_argument('--num-videos', type=int, default=1000)
    parser.add_argument('--frames', type=int, default=150)
    parser.add_argument('--dim', type=int, default=2048)
    parser.add_argument('--clip-len', type=int, default=60)
    parser.add_argument('--num-classes', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--evict', choices=('fadvise', 'drop', 'none'),
                        default='fadvise')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--keep', action='store_true',
                        help='keep the data set in --work-dir')
    parser.add_argument('--json', default=None, help='write results here')
    args = parser.parse_args(argv)
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')

    ann, variants = make_data(args.work_dir, args.num_videos, args.frames,
                              args.dim, args.num_classes, args.seed)
    results = {name: dict(rates=[], first=[], cached_after_evict=[])
               for name in variants}
    for rep in range(args.repeats):
        for name, root in variants.items():
            evict(root, args.evict)
            results[name]['cached_after_evict'].append(cached_bytes(root))
            rate, first = time_epoch(ann, root, args)
            results[name]['rates'].append(rate)
            results[name]['first'].append(first)
            print(f'[{rep + 1}/{args.repeats}] {name}: {rate:.1f} videos/s '
                  f'(first batch {first:.2f} s, load {os.getloadavg()[0]:.1f})'
                  , flush=True)
    base = statistics.median(results['per-file .npy float32']['rates'])
    print(f'\n{args.num_videos} videos [{args.frames}, {args.dim}], '
          f'clip_len {args.clip_len}, batch {args.batch_size}, '
          f'{args.workers} workers, evict={args.evict}, median of '
          f'{args.repeats}\n')
    print('| layout | disk size | videos/s (median) | all runs | vs per-file '
          '|')
    print('|---|---|---|---|---|')
    for name, root in variants.items():
        r = results[name]
        apparent, allocated = disk_bytes(root)
        r.update(median=statistics.median(r['rates']),
                 disk_apparent=apparent, disk_allocated=allocated)
        runs = ', '.join(f'{x:.0f}' for x in r['rates'])
        print(f'| {name} | {allocated / 2**30:.2f} GiB | {r["median"]:.1f} '
              f'| {runs} | {r["median"] / base:.2f}x |')
    cached = [c for r in results.values() for c in r['cached_after_evict']
              if c is not None]
    if cached:
        print(f'\nbytes still cached right after eviction: max {max(cached)}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=1)
    if not args.keep:
        shutil.rmtree(args.work_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
