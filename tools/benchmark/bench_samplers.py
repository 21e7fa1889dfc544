"""Time the class-aware samplers on VideoLT's real training label list.

Measures the one-off construction cost (reading the labels from the
dataset, building the CSR class index) and the per-epoch cost
(``set_epoch`` + iterating the full epoch), single process.

Usage::

    python tools/benchmark/bench_samplers.py \
        [--label-list ../shared/data/videolt/train.lst] [--repeats 5]

Exits 0 with a message if the label list is absent.
"""

import argparse
import os.path as osp
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
DEFAULT_LIST = osp.normpath(
    osp.join(HERE, '..', '..', '..', 'shared', 'data', 'videolt', 'train.lst')
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--label-list', default=DEFAULT_LIST)
    parser.add_argument('--num-classes', type=int, default=1004)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--head-thr', type=int, default=500)
    parser.add_argument('--tail-thr', type=int, default=100)
    args = parser.parse_args()
    if not osp.isfile(args.label_list):
        print(f'skip: {args.label_list} not found')
        return 0

    from meid_mmaction.datasets.annotations import parse_label_list
    from meid_mmaction.datasets.class_groups import split_groups
    from meid_mmaction.datasets.label_list_dataset import LabelListDataset
    from meid_mmaction.datasets.samplers import (
        ClassBalancedSampler,
        SquareRootSampler,
    )

    t = time.perf_counter()
    _, labels = parse_label_list(args.label_list, args.num_classes)
    parse_s = time.perf_counter() - t
    dataset = LabelListDataset(
        labels, [str(c) for c in range(args.num_classes)]
    )
    print(
        f'{args.label_list}: {len(labels)} videos, {args.num_classes} '
        f'classes (parse {parse_s:.3f} s)'
    )
    for cls in (ClassBalancedSampler, SquareRootSampler):
        init_s, epoch_s = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            sampler = cls(dataset, seed=args.seed)
            init_s.append(time.perf_counter() - t)
        for epoch in range(args.repeats):
            t = time.perf_counter()
            sampler.set_epoch(epoch)
            n = sum(1 for _ in sampler)
            epoch_s.append(time.perf_counter() - t)
        assert n == len(sampler) == len(dataset)
        groups = split_groups(
            sampler.class_counts, args.head_thr, args.tail_thr
        )
        share = {
            g: sampler.class_probs[idx].sum() for g, idx in groups.items()
        }
        natural = {
            g: sampler.class_counts[idx].sum() / sampler.class_counts.sum()
            for g, idx in groups.items()
        }
        print(
            f'{cls.__name__}: init {min(init_s):.3f} s (min of '
            f'{args.repeats}), epoch of {n} draws {min(epoch_s):.3f} s '
            f'(min of {args.repeats}, median '
            f'{sorted(epoch_s)[len(epoch_s) // 2]:.3f} s)'
        )
        print(
            '  class-draw share head/medium/tail: '
            + ' / '.join(f'{share[g]:.3f}' for g in share)
            + ' (natural label share: '
            + ' / '.join(f'{natural[g]:.3f}' for g in natural)
            + ')'
        )
    # Reference: mmengine's DefaultSampler (a shuffle) on the same dataset.
    from mmengine.dataset import DefaultSampler

    sampler = DefaultSampler(dataset, seed=args.seed)
    epoch_s = []
    for epoch in range(args.repeats):
        t = time.perf_counter()
        sampler.set_epoch(epoch)
        n = sum(1 for _ in sampler)
        epoch_s.append(time.perf_counter() - t)
    print(
        f'DefaultSampler (reference): epoch of {n} indices '
        f'{min(epoch_s):.3f} s (min of {args.repeats})'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
