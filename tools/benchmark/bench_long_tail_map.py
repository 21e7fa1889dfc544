"""Time LongTailMAP's AP against MMAction2's and scikit-learn's.

A VideoLT-sized test set (51,239 videos x 1,004 classes by default): each
class is positive with a rate proportional to its training count (about
``--labels-per-video`` labels per video), scores are random (optionally
rounded to create ties). Prints the seconds of each implementation, the
ratios and the largest absolute difference of the mAPs.

``--metric-devices cpu cuda`` times the whole metric
(``LongTailMAP.compute_metrics``) on each device and checks that they
agree; ``--skip-references`` leaves out MMAction2's and scikit-learn's
implementations (minutes at full size).

Example::

    python tools/benchmark/bench_long_tail_map.py \\
        --count-file ../shared/data/videolt/count-labels-train.lst
"""

import argparse
import os.path as osp
import platform
import time
import warnings

import numpy as np
import torch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--count-file',
        default='../shared/data/videolt/count-labels-train.lst',
        help='class-count file <name> <index> <count>; synthetic counts '
        'are used when it does not exist',
    )
    parser.add_argument('--num-videos', type=int, default=51239)
    parser.add_argument(
        '--num-classes',
        type=int,
        default=1004,
        help='number of classes when the counts are synthesised',
    )
    parser.add_argument('--labels-per-video', type=float, default=1.1)
    parser.add_argument(
        '--decimals',
        type=int,
        default=None,
        help='round the scores to this many decimals (ties)',
    )
    parser.add_argument('--head-thr', type=int, default=500)
    parser.add_argument('--tail-thr', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--sklearn-macro',
        action='store_true',
        help="also time sklearn's average='macro' (minutes at full size)",
    )
    parser.add_argument(
        '--metric-devices',
        nargs='+',
        default=['cpu'],
        help='devices to time LongTailMAP.compute_metrics on',
    )
    parser.add_argument(
        '--skip-references',
        action='store_true',
        help="skip MMAction2's and scikit-learn's AP (the slow references)",
    )
    return parser.parse_args()


def load_counts(path, num_classes, rng):
    """Training counts ``[C]`` from ``path`` or a synthetic long tail."""
    if path and osp.isfile(path):
        from meid_mmaction.datasets.annotations import parse_class_counts

        _, counts = parse_class_counts(path)
        return counts, f'count file {path}'
    # Zipf-like tail between 44 and 1,912 videos (VideoLT's range).
    ranks = np.arange(1, num_classes + 1)
    counts = np.round(1912 * ranks**-0.6).clip(44).astype(np.int64)
    return rng.permutation(counts), 'synthetic counts'


def make_problem(counts, num_videos, labels_per_video, decimals, rng):
    """Scores ``[N, C]`` float32 and labels ``[N, C]`` uint8."""
    rate = labels_per_video * counts / counts.sum()
    labels = (
        rng.random((num_videos, len(counts)), dtype=np.float32)
        < rate[None].astype(np.float32)
    ).astype(np.uint8)
    scores = rng.random((num_videos, len(counts)), dtype=np.float32)
    # mildly informative scores, so that APs are not all near the rate
    scores = scores + 0.5 * labels * rng.random(scores.shape, dtype=np.float32)
    if decimals is not None:
        scores = np.round(scores, decimals)
    return scores.astype(np.float32), labels


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main():
    args = parse_args()
    import sklearn
    from mmaction.evaluation.functional import mean_average_precision
    from sklearn.metrics import average_precision_score

    import meid_mmaction
    from meid_mmaction.evaluation.functional import average_precision, mean_ap
    from meid_mmaction.evaluation.metrics import LongTailMAP

    rng = np.random.default_rng(args.seed)
    counts, source = load_counts(args.count_file, args.num_classes, rng)
    scores, labels = make_problem(
        counts, args.num_videos, args.labels_per_video, args.decimals, rng
    )
    n, c = scores.shape
    print(
        f'problem: {n} videos x {c} classes ({source}), '
        f'{labels.sum() / n:.3f} labels per video, '
        f'{int((labels.sum(0) == 0).sum())} classes without positives, '
        f'scores rounded to {args.decimals} decimals'
    )
    print(
        f'machine: {platform.processor() or platform.machine()}, '
        f'torch threads {torch.get_num_threads()}; python '
        f'{platform.python_version()}, torch {torch.__version__}, numpy '
        f'{np.__version__}, scikit-learn {sklearn.__version__}, '
        f'meid_mmaction {meid_mmaction.__version__}'
    )

    s_t, y_t = torch.from_numpy(scores), torch.from_numpy(labels)
    ap, t_ours = timed(lambda: average_precision(s_t, y_t))
    map_ours = mean_ap(ap)

    # The whole metric: stack per-video results, AP, groups, top-k.
    results = [dict(score=s_t[i], label=y_t[i]) for i in range(n)]
    metric_runs = {}
    for device in args.metric_devices:
        metric = LongTailMAP(
            head_thr=args.head_thr, tail_thr=args.tail_thr, device=device
        )
        metric.dataset_meta = dict(class_counts=tuple(counts.tolist()))
        metric.compute_metrics(results[:256])  # warm-up (CUDA context)
        metric_runs[device] = timed(metric.compute_metrics, results)
    del results
    res_metric, t_metric = metric_runs[args.metric_devices[0]]

    if not args.skip_references:
        rows = [scores[i] for i in range(n)]
        lab_rows = [labels[i] for i in range(n)]
        map_mma, t_mma = timed(mean_average_precision, rows, lab_rows)
        del rows, lab_rows

        def sklearn_loop():
            out = np.full(c, np.nan)
            for k in range(c):
                if labels[:, k].any():
                    out[k] = average_precision_score(
                        labels[:, k], scores[:, k]
                    )
            return out

        ap_sk, t_sk = timed(sklearn_loop)
        map_sk = float(np.nanmean(ap_sk))
        valid = ~np.isnan(ap_sk)

    print(
        f'{"implementation":48s} {"seconds":>8s} {"x ours":>7s} {"mAP":>10s}'
    )

    def row(name, t, value):
        print(f'{name:48s} {t:8.2f} {t / t_ours:7.1f} {value:10.6f}')

    row('meid_mmaction average_precision (torch)', t_ours, map_ours)
    for device, (res, t) in metric_runs.items():
        row(
            f'LongTailMAP.compute_metrics, {device} (AP+groups+top-k)',
            t,
            res['mAP'],
        )
    if len(metric_runs) > 1:
        diff = max(
            abs(res[k] - res_metric[k])
            for res, _ in metric_runs.values()
            for k in res_metric
            if isinstance(res_metric[k], float)
        )
        print(
            f'max |difference| of LongTailMAP results across devices: '
            f'{diff:.3e}'
        )
    if args.skip_references:
        print('references skipped (--skip-references)')
    else:
        row('mmaction mean_average_precision', t_mma, map_mma)
        row('sklearn average_precision_score, per class', t_sk, map_sk)
    if args.sklearn_macro:
        keep = labels.any(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            map_macro, t_macro = timed(
                lambda: average_precision_score(
                    labels[:, keep], scores[:, keep], average='macro'
                )
            )
        row(
            "sklearn average_precision_score(average='macro')",
            t_macro,
            map_macro,
        )
    if not args.skip_references:
        ap_np = ap.numpy()
        print(
            'max |AP_c ours - sklearn| over classes: '
            f'{np.abs(ap_np[valid] - ap_sk[valid]).max():.3e}'
        )
        print(
            f'|mAP ours - sklearn| {abs(map_ours - map_sk):.3e}, '
            f'|mAP ours - mmaction| {abs(map_ours - map_mma):.3e}'
        )
    print(
        'LongTailMAP: '
        + ', '.join(
            f'{k} {v:.4f}' if isinstance(v, float) else f'{k} {v}'
            for k, v in res_metric.items()
        )
    )


if __name__ == '__main__':
    main()
