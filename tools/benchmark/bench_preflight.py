"""Time the pre-flight data check of ``DatasetCheckHook`` at each level.

Example (the synthetic demo data made by ``tools/data/generate_synthetic.py
data/synthetic_lt``)::

    python tools/benchmark/bench_preflight.py configs/meid_synthetic.py \\
        --workers 8 --repeat 3

Prints, per level (``lists``, ``headers``, ``full``), the best of
``--repeat`` wall times and the time per video over all splits. The file
system cache is warm after the first repeat (a cold first start on a
network file system is slower).
"""

import argparse
import time
import types

from mmengine.config import Config, DictAction

import meid_mmaction  # noqa: F401
from meid_mmaction.engine.hooks import DatasetCheckHook
from meid_mmaction.utils.data_keys import apply_data_keys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--workers', type=int, default=8)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument(
        '--levels', nargs='+', default=['lists', 'headers', 'full']
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    apply_data_keys(cfg)
    runner = types.SimpleNamespace(cfg=cfg)
    videos = 0
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[key]['dataset']
        path = (
            ds['ann_file']
            if not ds.get('data_root')
            else f'{ds["data_root"]}/{ds["ann_file"]}'
        )
        with open(path) as f:
            videos += sum(1 for line in f if line.strip())
    print(
        f'{args.config}: {videos} videos in train + val + test lists, '
        f'{args.workers} worker threads'
    )
    print(f'{"level":<8} {"best s":>8} {"us/video":>9}')
    for level in args.levels:
        hook = DatasetCheckHook(check=level, workers=args.workers)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            hook.before_train(runner)
            times.append(time.perf_counter() - start)
        best = min(times)
        print(f'{level:<8} {best:>8.3f} {1e6 * best / videos:>9.1f}')


if __name__ == '__main__':
    main()
