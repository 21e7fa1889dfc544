"""Training-input throughput: per-file .npy, packed stores, batched reads
and the in-memory feature bank.

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

With ``--fast-paths`` the same epoch is also timed, in the same process
and round-robin with the per-sample variants, for the batched paths:
``batch_read=True`` on the packed float16 store (``__getitems__``, one
sorted read per shard and batch, same workers) and the RAM feature bank
(``feature_bank=dict(dtype='float16' | 'int8')``, no worker); every
variant then goes through ``FeatureDataPreprocessor`` (videos/s up to the
model input); a reference row times a bare torch gather of the same batches
from one float16 tensor in RAM (``bank[idx[:, None], frames].float()``, no
dataset, data samples or preprocessor), and every row gives its time per
batch as a multiple of that reference ("vs raw gather"); and ``--cache
cold warm`` times each disk variant both after eviction and with a warm
page cache. The bank's one-time load is reported
separately (not in videos/s).

Usage::

    python tools/benchmark/bench_data_pipeline.py --work-dir WORK \\
        [--num-videos 1000] [--repeats 3] [--evict fadvise] [--keep]
    # issue 11 (CharadesLT shape, all paths, cold and warm):
    python tools/benchmark/bench_data_pipeline.py --work-dir WORK \\
        --num-videos 2000 --frames 200 --batch-size 128 --fast-paths \\
        --pack-dtypes float16 --cache cold warm --repeats 3 --keep

``WORK`` receives about 3 GB per 1,000 videos and is deleted at the end
unless ``--keep`` (an existing data set there of the same shape is
reused).
"""

import argparse
import json
import os
import os.path as osp
import resource
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
    """Bytes of ``root``'s files in the page cache (``fincore``), or None."""
    if shutil.which('fincore') is None:
        return None
    paths = list(_files(root))
    total = 0
    for i in range(0, len(paths), 500):
        out = subprocess.run(
            ['fincore', '--bytes', '--noheadings', '--output', 'RES']
            + paths[i : i + 500],
            capture_output=True,
            text=True,
        )
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


def make_data(
    work,
    num_videos,
    frames,
    dim,
    num_classes,
    seed,
    pack_dtypes=('float32', 'float16'),
):
    """Per-file float32 .npy + a training list; reused if already there."""
    from meid_datatools.packing import (
        list_source_ids,
        pack_features,
    )

    npy = osp.join(work, 'npy_float32')
    ann = osp.join(work, 'train.lst')
    meta_path = osp.join(work, 'bench_meta.json')
    meta = dict(
        num_videos=num_videos,
        frames=frames,
        dim=dim,
        num_classes=num_classes,
        seed=seed,
        pack_dtypes=list(pack_dtypes),
    )
    if osp.isfile(meta_path) and json.load(open(meta_path)) == meta:
        print(f'reusing the data set in {work}')
    else:
        if osp.isdir(work) and os.listdir(work):
            if not osp.isfile(meta_path):
                raise ValueError(
                    f'{work}: not empty and not a data set of this benchmark '
                    f'(no {osp.basename(meta_path)}); use an empty or new '
                    '--work-dir'
                )
            shutil.rmtree(work)  # a data set of another shape: rebuild
        os.makedirs(npy)
        rng = np.random.default_rng(seed)
        t0 = time.time()
        lines = []
        for i in range(num_videos):
            vid = f'video_{i:06d}'
            feats = rng.standard_normal((frames, dim), dtype=np.float32)
            np.save(osp.join(npy, f'{vid}.npy'), feats)
            labels = rng.choice(
                num_classes, size=1 + (rng.random() < 0.1), replace=False
            )
            lines.append(f'{vid} {",".join(map(str, sorted(labels)))}\n')
        with open(ann, 'w') as f:
            f.writelines(lines)
        os.sync()
        print(f'wrote {num_videos} .npy files in {time.time() - t0:.1f} s')
        for dtype in pack_dtypes:
            t0 = time.time()
            pack_features(
                npy,
                osp.join(work, f'packed_{dtype}'),
                list_source_ids(npy),
                dtype=dtype,
            )
            print(f'packed {dtype} in {time.time() - t0:.1f} s')
        with open(meta_path, 'w') as f:
            json.dump(meta, f)
    variants = {'per-file .npy float32': (npy, {})}
    for dtype in pack_dtypes:
        variants[f'packed {dtype}'] = (osp.join(work, f'packed_{dtype}'), {})
    return ann, variants


def fast_variants(work, bank_device='cpu'):
    """The batched paths (issue 11) on the packed float16 store."""
    packed = osp.join(work, 'packed_float16')
    out = {'packed float16 batched': (packed, dict(batch_read=True))}
    devices = [('RAM', 'cpu')]
    if bank_device != 'cpu':
        devices.append(('GPU', bank_device))
    for name, device in devices:
        for dtype in ('float16', 'int8'):
            out[f'{name} bank {dtype}'] = (
                packed,
                dict(feature_bank=dict(dtype=dtype, device=device), workers=0),
            )
    return out


def _cpu_seconds():
    """CPU seconds of this process plus its finished children (the
    DataLoader workers, once joined)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def time_epoch(ann, feat_dir, args, options=None):
    """(videos/s after the first batch, first-batch seconds, bank load
    seconds or None, CPU milliseconds per video over the whole epoch)."""
    import torch

    from meid_mmaction.datasets import (
        MultiLabelFeatureDataset,
        feature_collate,
    )

    options = dict(options or {})
    workers = options.pop('workers', args.workers)
    pipeline = [
        dict(type='OpenFeatures'),
        dict(type='SampleFeatureFrames', clip_len=args.clip_len),
        dict(type='LoadFeatureFrames'),
        dict(type='PackFeatureInputs'),
    ]
    dataset = MultiLabelFeatureDataset(
        ann_file=ann,
        num_classes=args.num_classes,
        head_thr=100,
        tail_thr=20,
        pipeline=pipeline,
        data_prefix=dict(feat=feat_dir),
        feat_dim=args.dim,
        **options,
    )
    dataset.set_frame_seed(args.seed, 0)  # as FrameSamplingSeedHook does
    load = None
    if 'feature_bank' in options:
        t0 = time.perf_counter()
        dataset.load_feature_bank()
        load = time.perf_counter() - t0
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=workers,
        collate_fn=feature_collate,  # pseudo_collate but for batched reads
    )
    from meid_mmaction.models.data_preprocessors import (
        FeatureDataPreprocessor,
    )

    pre = FeatureDataPreprocessor() if args.fast_paths else None
    # a GPU bank feeds a model on that GPU
    device = torch.device(options.get('feature_bank', {}).get('device', 'cpu'))
    if pre is not None and device.type == 'cuda':
        pre = pre.to(device)
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    it = iter(loader)
    first = next(it)
    t1 = time.perf_counter()
    n = 0
    for batch in it:
        if pre is not None:
            batch = pre(batch, training=True)
        n += len(batch['inputs'])
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    t2 = time.perf_counter()
    del it  # workers joined: their CPU time is in RUSAGE_CHILDREN
    cpu_ms = (_cpu_seconds() - cpu0) * 1e3 / (n + len(first['inputs']))
    assert tuple(first['inputs'][0].shape) == (1, args.clip_len, args.dim)
    return n / (t2 - t1), t1 - t0, load, cpu_ms


def time_raw_gather(args):
    """The memory-bound reference of the bank: videos/s of a bare torch
    gather of each batch from one float16 tensor ``[V, T, D]`` (random
    values, in RAM), ``bank[idx[:, None], frames].float()`` with a shuffled
    order and uniform random frames, no dataset, no data samples, no
    preprocessor. Same return tuple as :func:`time_epoch` (no bank load)."""
    import torch

    gen = torch.Generator().manual_seed(args.seed)
    bank = torch.randn(
        args.num_videos, args.frames, args.dim, generator=gen
    ).half()
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    order = torch.randperm(args.num_videos, generator=gen)
    batches = order.split(args.batch_size)

    def gather(idx):
        frames = torch.randint(
            args.frames, (len(idx), args.clip_len), generator=gen
        )
        return bank[idx[:, None], frames].float()

    first = gather(batches[0])
    t1 = time.perf_counter()
    n = 0
    for idx in batches[1:]:
        n += len(gather(idx))
    t2 = time.perf_counter()
    cpu_ms = (_cpu_seconds() - cpu0) * 1e3 / (n + len(first))
    assert first.shape == (len(batches[0]), args.clip_len, args.dim)
    return n / (t2 - t1), t1 - t0, None, cpu_ms


RAW = 'raw gather float16 (reference)'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--work-dir',
        required=True,
        help='where the synthetic data set is written',
    )
    parser.add_argument('--num-videos', type=int, default=1000)
    parser.add_argument('--frames', type=int, default=150)
    parser.add_argument('--dim', type=int, default=2048)
    parser.add_argument('--clip-len', type=int, default=60)
    parser.add_argument('--num-classes', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--evict', choices=('fadvise', 'drop', 'none'), default='fadvise'
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--keep', action='store_true', help='keep the data set in --work-dir'
    )
    parser.add_argument('--json', default=None, help='write results here')
    parser.add_argument(
        '--fast-paths',
        action='store_true',
        help='also time batched reads and the RAM bank, '
        'through FeatureDataPreprocessor',
    )
    parser.add_argument(
        '--bank-device',
        default='cpu',
        help="with --fast-paths: also time banks on this device (e.g. 'cuda')",
    )
    parser.add_argument(
        '--pack-dtypes',
        nargs='+',
        default=['float32', 'float16'],
        choices=('float32', 'float16'),
    )
    parser.add_argument(
        '--cache',
        nargs='+',
        default=None,
        choices=('cold', 'warm'),
        help='time disk variants cold (evicted with '
        '--evict) and/or warm; default: as --evict says',
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads of the main process (default 1: shared machine)',
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.fast_paths and 'float16' not in args.pack_dtypes:
        parser.error('--fast-paths needs float16 in --pack-dtypes')
    from mmengine.registry import init_default_scope

    init_default_scope('mmaction')

    ann, disk = make_data(
        args.work_dir,
        args.num_videos,
        args.frames,
        args.dim,
        args.num_classes,
        args.seed,
        args.pack_dtypes,
    )
    if args.fast_paths:
        disk.update(fast_variants(args.work_dir, args.bank_device))
        disk[RAW] = (None, dict(raw=True))
    caches = args.cache or ['warm' if args.evict == 'none' else 'cold']
    runs = []  # (name, cache, root, options)
    for name, (root, options) in disk.items():
        if 'feature_bank' in options or 'raw' in options:
            runs.append((name, 'in memory', root, options))
        else:
            runs += [(name, c, root, options) for c in caches]
    results = {
        (n, c): dict(
            rates=[], first=[], cached_after_evict=[], bank_load=[], cpu_ms=[]
        )
        for n, c, _, _ in runs
    }
    for rep in range(args.repeats):
        for name, cache, root, options in runs:
            r = results[(name, cache)]
            if 'raw' in options:
                rate, first, load, cpu_ms = time_raw_gather(args)
            else:
                if cache == 'cold' or 'feature_bank' in options:
                    evict(root, args.evict)
                    r['cached_after_evict'].append(cached_bytes(root))
                rate, first, load, cpu_ms = time_epoch(
                    ann, root, args, options
                )
            r['cpu_ms'].append(cpu_ms)
            r['rates'].append(rate)
            r['first'].append(first)
            r['bank_load'].append(load)
            extra = '' if load is None else f', bank load {load:.1f} s'
            print(
                f'[{rep + 1}/{args.repeats}] {name} ({cache}): '
                f'{rate:.1f} videos/s, {cpu_ms:.2f} CPU ms/video (first '
                f'batch {first:.2f} s{extra}, load '
                f'{os.getloadavg()[0]:.1f})',
                flush=True,
            )
    base_cache = 'cold' if 'cold' in caches else 'warm'
    base = statistics.median(
        results[('per-file .npy float32', base_cache)]['rates']
    )
    base_cpu = statistics.median(
        results[('per-file .npy float32', base_cache)]['cpu_ms']
    )
    print(
        f'\n{args.num_videos} videos [{args.frames}, {args.dim}], '
        f'clip_len {args.clip_len}, batch {args.batch_size}, '
        f'{args.workers} workers, evict={args.evict}, median of '
        f'{args.repeats}\n'
    )
    raw = results.get((RAW, 'in memory'))
    raw_rate = statistics.median(raw['rates']) if raw else None
    print(
        '| layout | cache | disk size | videos/s (median) | all runs | '
        f'vs per-file {base_cache} | CPU ms / video (median) | CPU vs '
        'per-file | ms / batch | vs raw gather |'
    )
    print('|---|---|---|---|---|---|---|---|---|---|')
    for name, cache, root, _ in runs:
        r = results[(name, cache)]
        apparent, allocated = disk_bytes(root) if root else (0, 0)
        r.update(
            median=statistics.median(r['rates']),
            cpu_median=statistics.median(r['cpu_ms']),
            disk_apparent=apparent,
            disk_allocated=allocated,
        )
        rates = ', '.join(f'{x:.0f}' for x in r['rates'])
        print(
            f'| {name} | {cache} | {allocated / 2**30:.2f} GiB | '
            f'{r["median"]:.1f} | {rates} | {r["median"] / base:.2f}x | '
            f'{r["cpu_median"]:.2f} | {base_cpu / r["cpu_median"]:.1f}x '
            f'less | {1e3 * args.batch_size / r["median"]:.2f} | '
            + (
                f'{raw_rate / r["median"]:.2f}x the time |'
                if raw_rate
                else '- |'
            )
        )
    cached = [
        c
        for r in results.values()
        for c in r['cached_after_evict']
        if c is not None
    ]
    if cached:
        print(f'\nbytes still cached right after eviction: max {max(cached)}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(
                    args=vars(args),
                    results={f'{n} ({c})': r for (n, c), r in results.items()},
                ),
                f,
                indent=1,
            )
    if not args.keep:
        shutil.rmtree(args.work_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
